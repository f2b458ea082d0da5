#!/usr/bin/env bash
# Prove every command of deploy/entrypoint.sh (web, worker, beat, migrate, collectstatic) without
# a container engine: copy the files the image would get (deploy/Dockerfile.dockerignore), build a
# fresh virtualenv from uv.lock exactly as the Dockerfile does (uv sync --frozen --no-dev), then,
# with the production settings against a throwaway PostgreSQL database and a Redis database:
#   collectstatic, migrate (exit 0, nothing left unapplied), one worker per queue group (each
#   says "ready"), beat (says "Starting"), web (gunicorn) until deploy/healthcheck.py, the image's
#   HEALTHCHECK, passes: /healthz 200 needs the database, Redis, and a heartbeat task that beat
#   scheduled and a worker ran. Then every process is stopped with SIGTERM, as a container is.
#
#   deploy/prove_entrypoints.sh
# Environment: PGHOST, PGPORT, PGUSER (default 127.0.0.1, 5432, postgres); PROOF_DB (the database
# created and dropped, default omnihub_entrypoints_proof); PROOF_REDIS_URL (default
# redis://127.0.0.1:6379/15; its keys are prefixed per run, nothing is flushed); UV (default: uv
# on PATH, else .tools/bin/uv as .ci/bootstrap.sh installs it).
# CI runs it after the test suite (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
PROOF_DB="${PROOF_DB:-omnihub_entrypoints_proof}"
PROOF_REDIS_URL="${PROOF_REDIS_URL:-redis://127.0.0.1:6379/15}"
WAIT_SECONDS="${PROOF_WAIT_SECONDS:-120}"
QUEUE_GROUPS=(default sync imports)  # as in deploy/compose.yaml

if [ -n "${UV:-}" ]; then :; elif command -v uv >/dev/null 2>&1; then UV=uv; else UV="$ROOT/.tools/bin/uv"; fi
PYTHON_BIN="$(command -v python3.11 || command -v python3)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/omnihub-proof.XXXXXX")"
APP="$WORK/app"
LOGS="$WORK/logs"
mkdir -p "$APP" "$LOGS"
PIDS=()
declare -A PID=()  # name -> pid of the processes started below
START=$SECONDS

say() { printf '[%3ss] %s\n' "$((SECONDS - START))" "$*"; }
fail() {
  echo "FAIL: $*" >&2
  for log in "$LOGS"/*.log; do
    [ -f "$log" ] || continue
    echo "---- last lines of $(basename "$log")" >&2
    tail -n 25 "$log" >&2
  done
  exit 1
}
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  dropdb --if-exists --force "$PROOF_DB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say "copy the image's files (deploy/Dockerfile.dockerignore applies) to $APP"
excludes=()
while IFS= read -r pattern; do
  case "$pattern" in '' | '#'*) continue ;; '**/'*) excludes+=("--exclude=${pattern#\*\*/}") ;;
    *) excludes+=("--exclude=./$pattern") ;; esac
done <deploy/Dockerfile.dockerignore
tar -C "$ROOT" "${excludes[@]}" -cf - . | tar -C "$APP" -xf -
if [ -e "$APP/tests" ] || [ -e "$APP/.venv" ]; then fail "the copy kept files the image leaves out"; fi

say "virtualenv from uv.lock: uv sync --frozen --no-dev"
t0=$SECONDS
(cd "$APP" && env -u VIRTUAL_ENV UV_PROJECT_ENVIRONMENT="$APP/.venv" UV_PYTHON_DOWNLOADS=never \
  "$UV" sync --frozen --no-dev --quiet --python "$PYTHON_BIN")
VENV_SECONDS=$((SECONDS - t0))
for tool in gunicorn celery python; do
  [ -x "$APP/.venv/bin/$tool" ] || fail "$tool is missing from the locked virtualenv"
done
[ ! -e "$APP/.venv/bin/pytest" ] || fail "the dev group leaked into the production virtualenv"

say "throwaway database $PROOF_DB"
dropdb --if-exists --force "$PROOF_DB"
createdb "$PROOF_DB"

unset VIRTUAL_ENV OMNIHUB_SHARED_DIR CELERY_BROKER_URL CELERY_RESULT_BACKEND
export PATH="$APP/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE=config.settings.production
export DJANGO_SECRET_KEY
DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
export DJANGO_ALLOWED_HOSTS=localhost
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$PROOF_DB"
export REDIS_URL="$PROOF_REDIS_URL"
export CACHE_KEY_PREFIX="omnihub-proof-$$-$RANDOM"
export OMNIHUB_VAR_DIR="$APP/var"
export LOG_FORMAT=json LOG_LEVEL=INFO
PORT="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS=2
ENTRY="$APP/deploy/entrypoint.sh"

say "collectstatic"
"$ENTRY" collectstatic >"$LOGS/collectstatic.log" 2>&1 || fail "collectstatic exited $?"
[ -s "$APP/staticfiles/staticfiles.json" ] || fail "collectstatic wrote no manifest"

say "migrate"
"$ENTRY" migrate >"$LOGS/migrate.log" 2>&1 || fail "migrate exited $?"
"$ENTRY" manage migrate --check >>"$LOGS/migrate.log" 2>&1 || fail "migrations left unapplied"

start() {  # start NAME COMMAND...: run in the background, logging to $LOGS/NAME.log
  local name="$1"
  shift
  "$ENTRY" "$@" >"$LOGS/$name.log" 2>&1 &
  PIDS+=("$!")
  PID[$name]=$!
}
wait_for() {  # wait_for NAME PATTERN: until the log shows PATTERN (the process must stay up)
  local name="$1" pattern="$2" deadline=$((SECONDS + WAIT_SECONDS))
  until grep -qs -- "$pattern" "$LOGS/$name.log"; do
    kill -0 "${PID[$name]}" 2>/dev/null || fail "$name exited before saying '$pattern'"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name did not say '$pattern' in ${WAIT_SECONDS}s"
    sleep 0.5
  done
}

for group in "${QUEUE_GROUPS[@]}"; do
  say "worker $group"
  start "worker-$group" worker "$group" --concurrency 1
done
for group in "${QUEUE_GROUPS[@]}"; do wait_for "worker-$group" "ready"; done
say "every worker is ready"

say "beat"
start beat beat
wait_for beat "beat: Starting"

say "web on 127.0.0.1:$PORT; polling /healthz with the image's HEALTHCHECK (heartbeat every 30 s)"
start web web
deadline=$((SECONDS + WAIT_SECONDS))
until python "$APP/deploy/healthcheck.py" 2>"$LOGS/healthcheck.log"; do
  kill -0 "${PID[web]}" 2>/dev/null || fail "web exited"
  [ "$SECONDS" -lt "$deadline" ] || fail "/healthz not 200 within ${WAIT_SECONDS}s: $(cat "$LOGS/healthcheck.log")"
  sleep 2
done
HEALTH="$(python -c "
import json, urllib.request
r = urllib.request.Request('http://127.0.0.1:$PORT/healthz', headers={'Host': 'localhost'})
print(json.dumps(json.load(urllib.request.urlopen(r, timeout=5))['checks'], sort_keys=True))")"
say "/healthz 200: $HEALTH"

say "stop every process with SIGTERM"
for pid in "${PIDS[@]}"; do kill -TERM "$pid"; done
for pid in "${PIDS[@]}"; do
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && fail "process $pid ignored SIGTERM for 30 s"
  wait "$pid" 2>/dev/null || true
done
PIDS=()

say "OK: virtualenv from uv.lock in ${VENV_SECONDS}s; collectstatic, migrate, worker (${QUEUE_GROUPS[*]}), beat and web all proven in $((SECONDS - START))s"
