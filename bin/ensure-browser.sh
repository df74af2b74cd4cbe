#!/usr/bin/env bash
# `npm test` runs the dashboard's tests in a real browser (Debian's chromium, driven by
# playwright-core): install it first when it is missing and this machine can (root, apt-get).
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "floe: installing chromium for the browser tests (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
  exit 0
fi
echo "floe: no chromium found and cannot install it here (needs root and apt-get): the browser tests will fail; install chromium or set CHROMIUM_PATH" >&2
