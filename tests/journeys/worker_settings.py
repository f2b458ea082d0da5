"""Settings for a worker process whose files the test process must read: the test settings with
media on disk (``OMNIHUB_JOURNEY_MEDIA``) instead of in memory. A journey test points its own
process at the same folder, so a feed file the worker writes is the one the live server serves."""

from config.settings.test import *  # noqa: F403
from config.settings.test import env

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("OMNIHUB_JOURNEY_MEDIA")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
