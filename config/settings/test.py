"""Test settings: the same as production in behaviour, faster in the places tests do not measure.

Tasks run eagerly unless a test starts a real worker (see ``tests/workers.py``). ``DATABASE_URL``
and ``REDIS_URL`` switch the suite to PostgreSQL and Redis exactly as in production.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, REDIS_URL, REST_FRAMEWORK, env

DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "test-secret-key-not-for-production"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Eager unless told otherwise: a test that starts a worker may run it with real publishing inside.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if REDIS_URL:
    # Tests share one Redis with the broker, any running app and each other (pytest-xdist): keep
    # their keys apart. A worker process started by a test inherits the same prefix.
    CACHES["default"]["KEY_PREFIX"] = "omnihub-test-" + env.str(
        "PYTEST_XDIST_WORKER", default="main"
    )
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "per_key": env.str("API_RATE_LIMIT", default="10000/min")
}
LOG_LEVEL = "WARNING"
# Tests bring the report rollups up to date themselves (reports.rollups.rollups_update).
REPORTS_ROLLUPS_ON_COMMIT = env.bool("REPORTS_ROLLUPS_ON_COMMIT", default=False)
