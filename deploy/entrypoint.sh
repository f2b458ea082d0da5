#!/bin/sh
# The one entrypoint of the OmniHub image (deploy/Dockerfile); also run from a plain virtualenv by
# deploy/prove_entrypoints.sh. Every process of a deployment is one of these commands:
#
#   web                  gunicorn with config/gunicorn.conf.py (GUNICORN_* from the environment)
#   worker QUEUES [ARGS] a Celery worker for a comma-separated queue group, e.g. "sync" or
#                        "default"; ARGS go to celery (e.g. --concurrency 1)
#   beat                 the Celery beat scheduler: run exactly one in a deployment
#   migrate              apply migrations and exit (a one-shot job, run before the others start)
#   collectstatic        collect static files into STATIC_ROOT (done once at image build)
#   manage ARGS          any manage.py command, e.g. "manage stock_check"
#   anything else        run as given (e.g. "sh" to look around)
#
# The tools (gunicorn, celery, python) come from PATH: /app/.venv/bin in the image.
set -eu
cd "$(dirname "$0")/.."

command="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$command" in
  web)
    # /metrics adds up the gunicorn workers' counts in this directory: start it empty.
    if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
      rm -rf "$PROMETHEUS_MULTIPROC_DIR"
      mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    fi
    exec gunicorn -c config/gunicorn.conf.py config.wsgi "$@"
    ;;
  worker)
    queues="${1:-default}"
    [ "$#" -gt 0 ] && shift
    # One node name per queue group, so several groups can share a host without clashing.
    exec celery -A config worker -Q "$queues" -n "$(echo "$queues" | tr ',' '-')@%h" \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    schedule="${CELERY_BEAT_SCHEDULE_FILE:-${OMNIHUB_VAR_DIR:-var}/celerybeat-schedule}"
    mkdir -p "$(dirname "$schedule")"
    exec celery -A config beat --loglevel "${CELERY_LOG_LEVEL:-INFO}" --schedule "$schedule" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  collectstatic)
    exec python manage.py collectstatic --noinput -v 0 "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
