#!/usr/bin/env bash
# Starts floe on default.yml, installing what it needs first (see docs/cli.md).
#   ./start.sh             the README's two hosts, h1 on 127.0.0.1:8080 and h2 on 127.0.0.1:8090
#   ./start.sh -flag=...   one host with these flags, e.g. ./start.sh -host_name=h3 -pub_bind=127.0.0.1:8100
# Written for bash 3.2 too (macOS): no wait -n there, no {fd} redirections, no associative arrays.
set -euo pipefail
cd "$(dirname "$0")"

# Taken out of the environment before npm runs, so no install or build script sees it.
admin_token=${FLOE_ADMIN:-}
unset FLOE_ADMIN

# Test-only (docs/cli.md): the e2e test runs this script on dist/ as built and on free ports.
if [ "${FLOE_START_SKIP_BUILD:-}" != 1 ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci
  fi
  npm run --silent build
fi

if [ $# -gt 0 ]; then
  if [ -n "$admin_token" ]; then export FLOE_ADMIN="$admin_token"; fi
  exec node bin/floe.js -conf=default.yml -host_name=h1 -tags=master -pub_bind=127.0.0.1:8080 "$@"
fi

h1_port=${FLOE_H1_PORT:-8080}
h2_port=${FLOE_H2_PORT:-8090}
for port in "$h1_port" "$h2_port"; do
  case $port in
    '' | *[!0-9]*) echo "start.sh: FLOE_H1_PORT and FLOE_H2_PORT are port numbers, got \"$port\"" >&2; exit 2 ;;
  esac
done

if [ -z "$admin_token" ]; then
  # 144 random bits in URL-safe base64, as a host makes for itself.
  admin_token=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  echo "start.sh: h1 and h2 share the admin token $admin_token (set FLOE_ADMIN to choose your own)" >&2
fi

fifos=$(mktemp -d "${TMPDIR:-/tmp}/floe-start.XXXXXX")
trap 'rm -rf "$fifos"' EXIT

# A host logs JSON when its stdout is not a terminal; make it readable again for a person.
pretty=
if [ -t 1 ] && [ -x node_modules/.bin/pino-pretty ]; then pretty=1; fi

# Prints each line of stdin as "<name> | <line>", the last one too if it lacks its newline.
prefix() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do printf '%s | %s\n' "$1" "$line"; done
}

# Job control puts each host in its own process group, so a Ctrl-C reaches start.sh alone and
# each host gets exactly one SIGTERM from it: a second signal makes a host exit at once.
set -m

hosts= # name:pid of each host
printer_pids=
start_host() {
  local name=$1 port=$2
  mkfifo "$fifos/$name"
  if [ -n "$pretty" ]; then
    node_modules/.bin/pino-pretty --colorize --singleLine --translateTime SYS:HH:MM:ss.l --ignore pid,hostname,host \
      <"$fifos/$name" | prefix "$name" &
  else
    prefix "$name" <"$fifos/$name" &
  fi
  printer_pids="$printer_pids $!"
  # The token travels in the environment, which only this user can read; a flag would show in ps.
  FLOE_ADMIN=$admin_token node bin/floe.js -conf=default.yml -host_name="$name" -tags=linux,go,couch \
    -pub_bind="127.0.0.1:$port" -root=".floe/ws/$name" </dev/null >"$fifos/$name" 2>&1 &
  hosts="$hosts $name:$!"
  echo "start.sh: started $name (pid $!) on 127.0.0.1:$port" >&2
}

signals=0
term_hosts() {
  local host
  for host in $hosts; do kill -TERM "${host#*:}" 2>/dev/null || true; done
}
# Every signal is passed on: the first stops the hosts gracefully, a second one at once.
trap 'signals=$((signals + 1)); term_hosts' INT TERM HUP

is_alive() { kill -0 "$1" 2>/dev/null; }
all_alive() {
  local host
  for host in $hosts; do is_alive "${host#*:}" || return 1; done
}
# Returns when a child ends or a trapped signal arrives.
wait_any() {
  if [ "${BASH_VERSINFO[0]}" -gt 4 ] || { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -ge 3 ]; }; then
    wait -n || true
  else
    sleep 1 &
    wait $! || true
  fi
}

start_host h1 "$h1_port"
if [ "$signals" -eq 0 ]; then start_host h2 "$h2_port"; fi
while all_alive; do wait_any; done

if [ "$signals" -eq 0 ]; then
  for host in $hosts; do is_alive "${host#*:}" || echo "start.sh: ${host%%:*} stopped; stopping the other host" >&2; done
  term_hosts
fi
code=0
for host in $hosts; do
  pid=${host#*:}
  # A wait cut short by a signal returns early; wait again until the host is gone.
  while is_alive "$pid"; do wait "$pid" || true; done
  status=0
  wait "$pid" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "start.sh: ${host%%:*} exited with $status" >&2
    code=$status
  fi
done
# Their last lines ("host stopped") are printed before start.sh returns the prompt.
for pid in $printer_pids; do wait "$pid" || true; done
if [ "$signals" -eq 0 ] && [ "$code" -eq 0 ]; then code=1; fi
exit "$code"
