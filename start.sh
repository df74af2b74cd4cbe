#!/usr/bin/env bash
# Starts a floe host on default.yml, installing what it needs first.
# Extra flags pass through, e.g. ./start.sh -host_name=h2 -tags=linux,go
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi
npm run --silent build
exec node bin/floe.js -conf=default.yml -host_name=h1 -tags=master -pub_bind=127.0.0.1:8080 "$@"
