#!/usr/bin/env sh
# Rebuild the page's viewer bundle (../_bundle.js, committed: CI has no node).
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
