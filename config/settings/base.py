"""Settings shared by every environment, read from the environment with django-environ.

With no environment at all the project runs on SQLite with Celery tasks executed eagerly, so a
newcomer needs nothing installed. ``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` (or
``CELERY_BROKER_URL``) to Redis for the cache and a real Celery broker.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# The shared product documents and real data (Shopify exports, Google taxonomy): ../shared.
SHARED_DIR = Path(os.environ.get("OMNIHUB_SHARED_DIR") or BASE_DIR.parent / "shared")

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-omnihub-local-development-only"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env.str("OMNIHUB_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Applications ---------------------------------------------------------------------------

INSTALLED_APPS = [
    # before the admin: it registers the translated columns of catalog/translation.py
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # third party
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "simple_history",
    "import_export",
    "django_htmx",
    "axes",
    # project
    "core",
    "catalog",
    "customers",
    "inventory",
    "orders",
    "channels",
    "storefront",
    "store",
    "reports",
    "demo",
    # last, so its post_migrate (role sync) runs after every app's permissions exist
    "config.apps.ProjectConfig",
]

# The config.middleware wrappers run Django's and the libraries' middleware except where it is
# useless: htmx and history never under /api/, sessions, CSRF, auth and messages not for a
# request carrying an API key (staff sessions on the API still get them).
MIDDLEWARE = [
    # First: times and counts every request (and its queries) for /metrics (config/metrics.py).
    "config.metrics.MetricsMiddleware",
    "config.observability.RequestIdMiddleware",
    "config.middleware.AuditContextMiddleware",
    "core.api.middleware.ApiProblemMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.SessionUnlessApiKey",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "config.middleware.CsrfUnlessApiKey",
    "config.middleware.AuthenticationUnlessApiKey",
    "config.middleware.MessagesUnlessApiKey",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.HtmxExceptApi",
    "config.middleware.HistoryExceptApi",
    # Last: turns a login refused by login protection into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],  # every app keeps its own templates (store/templates/, <app>/templates/admin/)
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite (the embedded default) runs in WAL mode with IMMEDIATE transactions so that concurrent
# writers queue on the database lock instead of failing with "database is locked" mid-transaction.
# PostgreSQL keeps connections open between requests and checks them before reuse.

SQLITE_PATH = VAR_DIR / "omnihub.sqlite3"
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{SQLITE_PATH}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        # Never wait on a row lock for long: a stuck lock surfaces as an error, not a hang.
        # No JIT compilation: it pays off for queries that run for many seconds, and the
        # reports' grouped reads over the rollups (tens of thousands of rows, with per-row
        # lookups that inflate the planner's cost) spent more compiling than running: 0.7 s of
        # 1.4 s for the year's sell-through stock on the large demo.
        "options",
        "-c lock_timeout=5000 -c jit=off",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="omnihub"),
            # A Redis that is down or unreachable must cost a request a fraction of a second,
            # not hang it: callers (the principal and channel caches, the throttle) then fall
            # back to the database or let the request through.
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.25),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "omnihub",
        }
    }

# Without a broker every task runs eagerly, in-process, at the point it is enqueued.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only once it has finished, and handed back to the broker when the worker
# running it dies, so a crash never loses a task; each worker process takes one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_SEND_TASK_EVENTS = True

# One queue per concern, so each can get its own worker pool:
#   default  housekeeping, notifications, image renditions
#   sync     channel syndication (pushes, feeds, webhooks)
#   imports  long bulk imports that must not delay syncs
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue("default", Exchange("default"), routing_key="default"),
    Queue("sync", Exchange("sync"), routing_key="sync"),
    Queue("imports", Exchange("imports"), routing_key="imports"),
]
# Task names are "<app>.<verb phrase>" (tests/test_task_names.py); anything not routed here runs
# on the default queue. "channels.*" also covers the old "channels.tasks.*" names.
CELERY_TASK_ROUTES = {
    "channels.*": {"queue": "sync"},
    "catalog.import_*": {"queue": "imports"},
    "catalog.bulk_edit_*": {"queue": "imports"},  # bulk edit jobs (catalog/bulk_edit.py)
    # the import task's old name, an alias until the next release (config/task_aliases.py)
    "catalog.tasks.import_*": {"queue": "imports"},
}
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "config.worker_heartbeat",
        "schedule": 30.0,
    },
    "inventory-holds-expire": {"task": "inventory.holds_expire", "schedule": 60.0},
    "inventory-stock-drift-check": {"task": "inventory.stock_drift_check", "schedule": 3600.0},
    "orders-pickups-expire": {"task": "orders.pickups_expire", "schedule": 900.0},
    # gift cards past their expiry lose their balance (docs/orders.md, "Gift cards")
    "orders-giftcards-expire": {
        "task": "orders.giftcards_expire",
        "schedule": crontab(hour=3, minute=23),
    },
    "orders-notifications-send": {
        "task": "orders.notifications_send",
        "schedule": env.float("ORDERS_NOTIFICATIONS_SWEEP_SECONDS", default=30.0),
    },
    "customers-loyalty-points-expire": {
        "task": "customers.loyalty_points_expire",
        "schedule": crontab(hour=3, minute=41),
    },
    "channels-dispatch": {
        "task": "channels.dispatch",
        "schedule": env.float("CHANNELS_DISPATCH_SECONDS", default=10.0),
    },
    "channels-reconcile": {"task": "channels.reconcile", "schedule": 300.0},
    "catalog-promotions-announce": {"task": "catalog.promotions_announce", "schedule": 60.0},
    "orders-promotions-announce": {"task": "orders.promotions_announce", "schedule": 60.0},
    "channels-feeds-refresh": {
        "task": "channels.feeds_refresh",
        "schedule": env.float("CHANNELS_FEED_MIN_SECONDS", default=30.0),
    },
    # the report rollups follow the outbox (reports.rollups); a commit also kicks them
    "reports-rollups-update": {
        "task": "reports.rollups_update",
        "schedule": env.float("REPORTS_ROLLUPS_SECONDS", default=15.0),
    },
    "purge-expired-idempotency-keys": {
        "task": "core.idempotency_keys_purge",
        "schedule": crontab(minute=17),
    },
}

# Reports (docs/reports.md): the rollups follow the outbox after each commit that recorded events
# (eager in the embedded default: the demo dashboard stays live) and every 15 s from beat.
REPORTS_ROLLUPS_ON_COMMIT = env.bool("REPORTS_ROLLUPS_ON_COMMIT", default=True)

# --- Customers and loyalty -----------------------------------------------------------------

# Money value of one loyalty point, in the currency of the order it is spent on.
LOYALTY_POINT_VALUE = env.str("LOYALTY_POINT_VALUE", default="0.01")
LOYALTY_POINTS_EXPIRE_DAYS = env.int("LOYALTY_POINTS_EXPIRE_DAYS", default=365)
# Gift cards (docs/orders.md, "Gift cards"): how long a new card is valid (0: no expiry), and how
# many unknown codes a caller may look up before GET /api/v1/gift-cards/{code}/ answers 429.
GIFT_CARD_VALIDITY_DAYS = env.int("GIFT_CARD_VALIDITY_DAYS", default=3 * 365)
GIFT_CARD_MISS_RATE = env.str("GIFT_CARD_MISS_RATE", default="10/hour")
# Points per whole currency unit per channel code ("" = every other channel); a LoyaltyEarnRule
# row for a channel wins over this.
LOYALTY_EARN_RATES: dict[str, str] = {"": "1"}

# Outbound URLs that partners and staff enter (webhook subscriptions, channel push endpoints) must
# reach public addresses (core.net): no loopback, private, link-local (cloud metadata) or reserved
# hosts, checked on entry and at every delivery. Turn on for on-premise receivers.
OUTBOUND_ALLOW_PRIVATE_URLS = env.bool("OUTBOUND_ALLOW_PRIVATE_URLS", default=False)

# Payment provider callbacks (POST /payments/{provider}/webhook/, channels.payment_webhook): the
# signing secret per provider code, e.g. PAYMENT_WEBHOOK_SECRETS=acme=whsec_...,other=...
PAYMENT_WEBHOOK_SECRETS: dict[str, str] = env.dict("PAYMENT_WEBHOOK_SECRETS", default={})

# Channel syndication (channels.delivery): retries, leases, breaker. From the environment so that a
# test can compress time for the worker processes it starts.
CHANNELS_MAX_ATTEMPTS = env.int("CHANNELS_MAX_ATTEMPTS", default=8)
CHANNELS_RETRY_BASE_SECONDS = env.float("CHANNELS_RETRY_BASE_SECONDS", default=2.0)
CHANNELS_RETRY_MAX_SECONDS = env.float("CHANNELS_RETRY_MAX_SECONDS", default=600.0)
CHANNELS_LEASE_SECONDS = env.float("CHANNELS_LEASE_SECONDS", default=60.0)
CHANNELS_HTTP_TIMEOUT_SECONDS = env.float("CHANNELS_HTTP_TIMEOUT_SECONDS", default=10.0)
CHANNELS_BREAKER_THRESHOLD = env.int("CHANNELS_BREAKER_THRESHOLD", default=5)
CHANNELS_BREAKER_COOLDOWN_SECONDS = env.float("CHANNELS_BREAKER_COOLDOWN_SECONDS", default=60.0)
CHANNELS_RELAY_BATCH = env.int("CHANNELS_RELAY_BATCH", default=1000)
CHANNELS_RECONCILE_AFTER_SECONDS = env.float("CHANNELS_RECONCILE_AFTER_SECONDS", default=300.0)
# With eager Celery (no broker) pushes wait for a worker unless this is on.
CHANNELS_EAGER_PUSH = env.bool("CHANNELS_EAGER_PUSH", default=False)
# Feeds: a dirty feed file is written again at most this often (items are always current).
CHANNELS_FEED_MIN_SECONDS = env.float("CHANNELS_FEED_MIN_SECONDS", default=30.0)
# The site's public address, for absolute links in feeds (image_link).
OMNIHUB_PUBLIC_URL = env.str("OMNIHUB_PUBLIC_URL", default="http://localhost:8000")

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Django's model backend with the session's user row read from the shared cache (dropped when the
# user, their groups or permissions change: core/api/principal_cache.py).
# Django's own backend stays listed so sessions opened before it keep working; both share the
# per-request permission cache, so no check costs a query twice.
AUTHENTICATION_BACKENDS = [
    # First: refuses every login of a locked-out user or address before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "core.api.principal_cache.CachedUserBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login protection (django-axes) for the admin and the store page; API keys never log in this way.
# AXES_FAILURE_LIMIT failed logins lock the username (from any address) and, separately, the
# client address (for any username) for AXES_COOLOFF_MINUTES; a successful login before that
# clears the count. Attempts and failures are recorded and listed in the admin (superusers).
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "config.login_protection.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no banner on every manage.py run; failures are still logged
# The client address (config.login_protection.client_ip): REMOTE_ADDR, or behind
# LOGIN_PROXY_COUNT reverse proxies that append to X-Forwarded-For, the entry that many from the
# right (see docs/operations.md). 0 = not behind a proxy (or the proxy rewrites REMOTE_ADDR).
LOGIN_PROXY_COUNT = env.int("LOGIN_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "config.login_protection.client_ip"

# --- I18N / time ----------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages catalog content is written in (django-modeltranslation adds a column per language
# to each translated field, catalog/translation.py). Adding one is a settings change plus a
# migration: see docs/catalog.md, "Translations". The project default is English: the original
# columns (Product.name, ...) always hold the English text, and a missing translation falls back
# to the channel's default language, then to English (catalog/locales.py).
LANGUAGES = [("en", "English"), ("nl", "Dutch"), ("de", "German"), ("fr", "French")]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
USE_TZ = True
# The currency of cost prices (catalog.Variant.cost_price, snapshotted on orders.OrderLine)
BASE_CURRENCY = env.str("BASE_CURRENCY", default="EUR")

# --- Static and media -----------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS: list[Path] = []
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("OMNIHUB_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Product images (catalog/media.py): refused above these limits; URL images are fetched with a
# per-wait timeout (seconds), the whole download getting at most three times that.
CATALOG_IMAGE_MAX_BYTES = env.int("CATALOG_IMAGE_MAX_BYTES", default=20 * 1024 * 1024)
# Pixels bound a worker's memory while an upload is cleaned (bench/image_memory.py): 16 MP of
# JPEG or PNG peaks near 230 MiB in all, 4 MP of WEBP about the same.
CATALOG_IMAGE_MAX_PIXELS = env.int("CATALOG_IMAGE_MAX_PIXELS", default=16_000_000)
CATALOG_IMAGE_MAX_PIXELS_WEBP = env.int("CATALOG_IMAGE_MAX_PIXELS_WEBP", default=4_000_000)
CATALOG_IMAGE_FETCH_TIMEOUT = env.float("CATALOG_IMAGE_FETCH_TIMEOUT", default=10.0)
# URL images are fetched from public addresses only (no loopback, private or link-local hosts,
# so no cloud metadata or internal services); allow private ones for a local image server.
CATALOG_IMAGE_FETCH_ALLOW_PRIVATE = env.bool("CATALOG_IMAGE_FETCH_ALLOW_PRIVATE", default=False)
# Media beyond images (docs/catalog.md, "Media"). 200 MB is also Meta's limit for catalog videos.
CATALOG_VIDEO_MAX_BYTES = env.int("CATALOG_VIDEO_MAX_BYTES", default=200 * 1024 * 1024)
# Video URLs are accepted from these hosts (and their subdomains) only; nothing is fetched.
CATALOG_VIDEO_URL_HOSTS = env.list(
    "CATALOG_VIDEO_URL_HOSTS", default=["youtube.com", "youtu.be", "vimeo.com"]
)
CATALOG_DOCUMENT_MAX_BYTES = env.int("CATALOG_DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
CATALOG_SPIN_MIN_FRAMES = env.int("CATALOG_SPIN_MIN_FRAMES", default=8)
CATALOG_SPIN_MAX_FRAMES = env.int("CATALOG_SPIN_MAX_FRAMES", default=72)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OmniHub <no-reply@omnihub.local>")

# --- API platform ---------------------------------------------------------------------------

# Request bodies: a JSON body (API, inbound channel orders) or a form's fields above this many
# bytes is refused with 413 (docs/security.md); uploaded files are not counted.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiKeyAuthentication",
        "core.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["core.api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.PerKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"per_key": env.str("API_RATE_LIMIT", default="1200/min")},
    "EXCEPTION_HANDLER": "core.api.problems.problem_exception_handler",
    "PAGE_SIZE": 50,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

API_IDEMPOTENCY_KEY_TTL_HOURS = env.int("API_IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# How long an API key's principal and a channel's configuration may be served from the shared
# cache. Writes through the models invalidate at once; this bounds changes made behind the ORM's
# back (QuerySet.update, raw SQL). See docs/operations.md.
API_PRINCIPAL_CACHE_SECONDS = env.int("API_PRINCIPAL_CACHE_SECONDS", default=60)
CHANNEL_CONFIG_CACHE_SECONDS = env.int("CHANNEL_CONFIG_CACHE_SECONDS", default=60)

SPECTACULAR_SETTINGS = {
    "TITLE": "OmniHub partner API",
    "DESCRIPTION": (
        "Catalog, availability, orders, returns, customers and webhooks for sales channels. "
        "Authenticate with `Authorization: Api-Key <key>`. Errors are RFC 9457 "
        "`application/problem+json` with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "FulfillmentStatusEnum": "orders.models.Fulfillment.Status",
        # media kinds: all four (the read API's, the write API's uploads), the two a URL gives
        "KindEnum": "catalog.api.media_serializers.UPLOAD_KINDS",
        "MediaUrlKindEnum": "catalog.api.media_serializers.URL_KINDS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_problem_responses",
    ],
}

# --- Metrics and tracing -------------------------------------------------------------------

# /metrics (Prometheus, config/metrics.py) answers ``Authorization: Bearer <METRICS_TOKEN>`` or a
# staff session with ``core.view_metrics``; empty = no token accepted. With several processes
# (gunicorn workers, Celery) set PROMETHEUS_MULTIPROC_DIR in the environment: docs/operations.md.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# OpenTelemetry tracing, off by default; needs the optional packages (docs/operations.md).
OTEL_ENABLED = env.bool("OTEL_ENABLED", default=False)

# --- Logging --------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console")  # "console" or "json"

from config.observability import logging_config  # noqa: E402

LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
