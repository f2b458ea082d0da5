#!/usr/bin/env bash
# Rehearse a backup and a restore: seed a database, pg_dump it, restore the dump into a new
# database, and check the copy. Exits non-zero on any difference.
#
#   deploy/backup_rehearsal.sh [--size small|large]
#
# 1. create the source database, migrate it, load the demo data (seed_demo --size)
# 2. pg_dump -Fc (the custom format: compressed, restorable table by table, in parallel)
# 3. create the target database and pg_restore the dump into it (--exit-on-error)
# 4. compare the exact row count (count(*)) of every table, and every sequence's position
# 5. on the restored database: migrate --check (the schema is the code's) and stock_check
#    (every stock level equals its movement ledger)
# 6. drop both databases and print the figures
#
# Environment: PGHOST, PGPORT, PGUSER (default 127.0.0.1, 5432, postgres); BACKUP_SRC_DB and
# BACKUP_DST_DB (default omnihub_backup_src / omnihub_backup_restored: both are dropped first
# and at the end); PYTHON (default .venv/bin/python). CI runs it on the small demo (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=small
while [ "$#" -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --size=*) SIZE="${1#--size=}"; shift ;;
    *) echo "usage: $0 [--size small|large]" >&2; exit 2 ;;
  esac
done

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
SRC="${BACKUP_SRC_DB:-omnihub_backup_src}"
DST="${BACKUP_DST_DB:-omnihub_backup_restored}"
PY="${PYTHON:-.venv/bin/python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/omnihub-backup.XXXXXX")"
DUMP="$WORK/omnihub.dump"
START=$SECONDS

say() { printf '[%4ss] %s\n' "$((SECONDS - START))" "$*"; }
cleanup() {
  dropdb --if-exists --force "$SRC" 2>/dev/null || true
  dropdb --if-exists --force "$DST" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# manage.py against one database: the plain settings, no broker (tasks run in-process).
manage() {
  local db="$1"
  shift
  env -u REDIS_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND \
    DJANGO_SETTINGS_MODULE=config.settings.local LOG_LEVEL=WARNING \
    DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db" \
    "$PY" manage.py "$@"
}
# Exact figures for every table and sequence of the public schema, one "name value" a line.
COUNTS_SQL="
SELECT 'table ' || c.relname || ' ' ||
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I', c.relname),
                                            false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p')
UNION ALL
SELECT 'sequence ' || sequencename || ' ' || coalesce(last_value::text, 'unused')
FROM pg_sequences WHERE schemaname = 'public'
ORDER BY 1"
figures() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" -c "$COUNTS_SQL"; }

dropdb --if-exists --force "$SRC"
dropdb --if-exists --force "$DST"

say "source database $SRC: migrate, seed_demo --size $SIZE"
t=$SECONDS
createdb "$SRC"
{ manage "$SRC" migrate --noinput -v 0 && manage "$SRC" seed_demo --size "$SIZE" -v 0; } \
  >"$WORK/seed.log" 2>&1 || { tail -n 40 "$WORK/seed.log" >&2; echo "FAIL: seeding" >&2; exit 1; }
SEED_S=$((SECONDS - t))

say "pg_dump -Fc"
t=$SECONDS
pg_dump -Fc --no-owner --no-acl -d "$SRC" -f "$DUMP"
DUMP_S=$((SECONDS - t))
DUMP_SIZE="$(du -h "$DUMP" | cut -f1)"

say "pg_restore into $DST"
t=$SECONDS
createdb "$DST"
pg_restore --no-owner --no-acl --exit-on-error --jobs "${RESTORE_JOBS:-2}" -d "$DST" "$DUMP"
RESTORE_S=$((SECONDS - t))

say "compare row counts and sequences"
t=$SECONDS
figures "$SRC" >"$WORK/src.txt"
figures "$DST" >"$WORK/dst.txt"
if ! diff -u "$WORK/src.txt" "$WORK/dst.txt"; then
  echo "FAIL: the restored database differs from the source (above)" >&2
  exit 1
fi
TABLES="$(grep -c '^table ' "$WORK/src.txt")"
ROWS="$(awk '$1 == "table" { n += $3 } END { print n }' "$WORK/src.txt")"
if [ "$TABLES" -eq 0 ] || [ "$ROWS" -eq 0 ]; then echo "FAIL: nothing was seeded" >&2; exit 1; fi
COMPARE_S=$((SECONDS - t))

say "restored database: migrate --check, stock_check"
t=$SECONDS
manage "$DST" migrate --check -v 0 || { echo "FAIL: restored schema is behind the code" >&2; exit 1; }
manage "$DST" stock_check || { echo "FAIL: stock_check on the restored database" >&2; exit 1; }
CHECK_S=$((SECONDS - t))

echo
echo "Backup rehearsal (--size $SIZE): OK"
printf '  %-34s %s\n' \
  "tables / rows compared" "$TABLES tables, $ROWS rows, all equal" \
  "largest tables" "$(awk '$1 == "table"' "$WORK/src.txt" | sort -k3 -n -r | head -n 3 | awk '{ print $2, $3 }' | paste -s -d, - | sed 's/,/, /g')" \
  "seed (migrate + seed_demo)" "${SEED_S}s" \
  "pg_dump -Fc" "${DUMP_S}s, $DUMP_SIZE" \
  "pg_restore" "${RESTORE_S}s" \
  "compare counts" "${COMPARE_S}s" \
  "migrate --check + stock_check" "${CHECK_S}s" \
  "total" "$((SECONDS - START))s"
