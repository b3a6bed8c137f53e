#!/bin/bash
set -euo pipefail
go build -o /app .
rm -rf "$HOME/.cache/go-build"
