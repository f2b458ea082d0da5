"""Settings for a worker process whose emails the test process must count: the test settings with
Django's file email backend, writing into ``EMAIL_FILE_PATH`` (a folder the test names in the
environment the worker inherits)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import env

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")
