#!/bin/sh
set -e
go build -o bin/app .
go clean -cache -modcache
