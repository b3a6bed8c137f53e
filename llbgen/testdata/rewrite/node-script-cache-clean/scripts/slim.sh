#!/bin/sh
set -e
npm prune --omit=dev
npm cache clean --force
