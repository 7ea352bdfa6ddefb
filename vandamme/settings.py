"""Django settings for vandamme.

Only this module reads environment variables (django-environ); everything else reads
``django.conf.settings``. Every setting has a safe development default except the
secrets, which are required when ``VANDAMME_ENVIRONMENT=production``.
"""

import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# --- Environment -------------------------------------------------------------------------

VANDAMME_ENVIRONMENT = env.str("VANDAMME_ENVIRONMENT", default="development")
IS_PRODUCTION = VANDAMME_ENVIRONMENT == "production"

# Development defaults are fixed, public and documented in the README: they exist so a
# one-person setup starts with no ceremony, and production refuses them.
DEVELOPMENT_SECRET_KEY = "vandamme-development-secret-key-not-for-production"  # noqa: S105
DEVELOPMENT_FERNET_KEY = "dmFuZGFtbWUtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWM="

SECRET_KEY = env.str("SECRET_KEY", default="")
VANDAMME_FERNET_KEYS: list[str] = env.list("VANDAMME_FERNET_KEYS", default=[])
if IS_PRODUCTION:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when VANDAMME_ENVIRONMENT=production")
    if not VANDAMME_FERNET_KEYS:
        raise ImproperlyConfigured(
            "VANDAMME_FERNET_KEYS must be set when VANDAMME_ENVIRONMENT=production "
            "(generate one with: python manage.py generate_fernet_key)"
        )
SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY
VANDAMME_FERNET_KEYS = VANDAMME_FERNET_KEYS or [DEVELOPMENT_FERNET_KEY]

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# JSON under /api/, Django's page elsewhere (vandamme.api_errors).
CSRF_FAILURE_VIEW = "vandamme.api_errors.csrf_failure"

# --- Applications ------------------------------------------------------------------------

INSTALLED_APPS = [
    # First, so its `manage.py runserver` (daphne's: ASGI, streaming) wins over staticfiles';
    # in place of daphne's own app, which would import Twisted in every process.
    "vandamme.devserver",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "audit",
    "apitokens",
    "providers",
    "aliases",
    "teams",
    "pricing",
    "routing",
    "dashboard",
]

# The control plane (admin, REST API) uses this stack. The data plane (/v1/, /health)
# is served by a handler with VANDAMME_DATA_PLANE_MIDDLEWARE instead: every sync
# middleware costs a thread hop per request (see vandamme/asgi.py).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # CommonMiddleware, with JSON for a write to an API path missing its slash.
    "vandamme.api_paths.ApiCommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
VANDAMME_DATA_PLANE_MIDDLEWARE: list[str] = []

ROOT_URLCONF = "vandamme.urls"
ASGI_APPLICATION = "vandamme.asgi.application"
WSGI_APPLICATION = "vandamme.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Storage -----------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections are thread-local and leak under ASGI; Django's docs say disable.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the usage writer and the admin work side by side without "database locked".
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis (optional) carries a copy of the configuration generation and the limit counters,
# each call behind a circuit breaker (vandamme.redis_breaker). Django's cache and the
# channel layer stay in process: nothing shares them across processes, and a cache or
# layer on Redis would be a path that fails requests when Redis does.
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds any Redis call may take before Redis counts as down (and is skipped until it answers).
VANDAMME_REDIS_TIMEOUT = env.float("VANDAMME_REDIS_TIMEOUT", default=0.1)
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://vandamme")}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- HTTP --------------------------------------------------------------------------------

# Prompts with base64 images are large; Django's 2.5 MB default would reject them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("VANDAMME_MAX_REQUEST_BYTES", default=32 * 1024 * 1024)
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves static files straight from the apps (no collectstatic step needed;
# run it anyway in production for compressed, cache-busting copies in STATIC_ROOT).
WHITENOISE_USE_FINDERS = True
# Without a collectstatic run STATIC_ROOT does not exist; the finders serve everything.
warnings.filterwarnings("ignore", message="No directory at: .*staticfiles", category=UserWarning)
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# The management API (/api/): staff only. Tokens first, so anonymous calls get a 401
# with a WWW-Authenticate header (non-staff users get a 403 from IsAdminUser).
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apitokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only: the browsable API's HTML forms would echo a failed request's write-only
    # secrets back into the page, and the admin is the human interface anyway.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON for every error, a database outage included (503), never an HTML page.
    "EXCEPTION_HANDLER": "vandamme.api_errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "vandamme management API",
    "DESCRIPTION": "Providers, key pools, aliases, teams, gateway keys, usage and the audit log.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "COMPONENT_SPLIT_REQUEST": True,  # write-only secrets appear in request bodies only
    # Two choice sets share the field name "source": name both enums.
    "ENUM_NAME_OVERRIDES": {
        "ConfigSourceEnum": "providers.models.Source",
        "AuditSourceEnum": "audit.models.AuditSource",
        # budget_period and spend_budget_period share one choice set: one enum.
        "BudgetPeriodEnum": "teams.models.BudgetPeriod",
    },
}

# --- Gateway -----------------------------------------------------------------------------

HOST = env.str("HOST", default="127.0.0.1")
PORT = env.int("PORT", default=8082)
# The gateway's own client key (the single-user key; teams have gateway keys).
PROXY_API_KEY = env.str("PROXY_API_KEY", default="")
# open | closed | auto (open until PROXY_API_KEY is set or a team exists): routing.gateway_mode.
VDM_GATEWAY_MODE = env.str("VDM_GATEWAY_MODE", default="auto").strip().lower()
if VDM_GATEWAY_MODE not in ("auto", "open", "closed"):
    raise ImproperlyConfigured(f"VDM_GATEWAY_MODE must be auto, open or closed, not {VDM_GATEWAY_MODE!r}")
if VDM_GATEWAY_MODE == "open" and PROXY_API_KEY:
    raise ImproperlyConfigured(
        "VDM_GATEWAY_MODE=open contradicts PROXY_API_KEY (a key nobody needs): unset one of them"
    )
VANDAMME_CONFIG_FILE = env.str("VANDAMME_CONFIG_FILE", default="vandamme-config.toml")
VANDAMME_USER_CONFIG_FILE = env.str(
    "VANDAMME_USER_CONFIG_FILE",
    default=str(Path.home() / ".config" / "vandamme-proxy" / "vandamme-config.toml"),
)
# Seconds a routing snapshot is trusted before the generation counter is checked again.
VANDAMME_SNAPSHOT_TTL = env.float("VANDAMME_SNAPSHOT_TTL", default=1.0)
# With Redis: seconds between comparisons of the generation with its database row.
VANDAMME_GENERATION_DB_CHECK_SECONDS = env.float("VANDAMME_GENERATION_DB_CHECK_SECONDS", default=2.0)
VANDAMME_CONNECT_TIMEOUT = env.float("VANDAMME_CONNECT_TIMEOUT", default=10.0)
VANDAMME_WRITE_TIMEOUT = env.float("VANDAMME_WRITE_TIMEOUT", default=30.0)
VANDAMME_POOL_TIMEOUT = env.float("VANDAMME_POOL_TIMEOUT", default=30.0)
VANDAMME_MAX_CONNECTIONS = env.int("VANDAMME_MAX_CONNECTIONS", default=1000)
# "aiohttp" (httpx API on aiohttp's pool, faster) or "httpx" (httpx's own transport).
VANDAMME_UPSTREAM_TRANSPORT = env.str("VANDAMME_UPSTREAM_TRANSPORT", default="aiohttp")
VANDAMME_KEY_COOLDOWN_SECONDS = env.float("VANDAMME_KEY_COOLDOWN_SECONDS", default=60.0)
# Retry budget per provider and process (routing.retry_budget): retries may be at most
# RATIO of the provider's requests, plus MIN_PER_SECOND retries a second in reserve.
VANDAMME_RETRY_BUDGET_RATIO = env.float("VANDAMME_RETRY_BUDGET_RATIO", default=0.2)
VANDAMME_RETRY_BUDGET_MIN_PER_SECOND = env.float("VANDAMME_RETRY_BUDGET_MIN_PER_SECOND", default=0.2)
# max_tokens for OpenAI clients that set no limit, sent to Anthropic-format providers
# (which require one): 4096 is the largest output every Claude model accepts.
VANDAMME_DEFAULT_MAX_TOKENS = env.int("VANDAMME_DEFAULT_MAX_TOKENS", default=4096)
# Largest single upstream SSE event a stream relay holds before it ends the stream with
# an error (bounds the memory one stream can take).
VANDAMME_MAX_SSE_EVENT_BYTES = env.int("VANDAMME_MAX_SSE_EVENT_BYTES", default=16 * 1024 * 1024)
# Usage records: buffered in memory (at most BUFFER), written in batches of BATCH.
VANDAMME_USAGE_BUFFER = env.int("VANDAMME_USAGE_BUFFER", default=100_000)
VANDAMME_USAGE_BATCH = env.int("VANDAMME_USAGE_BATCH", default=500)
VANDAMME_USAGE_FLUSH_SECONDS = env.float("VANDAMME_USAGE_FLUSH_SECONDS", default=1.0)
# Where usage still buffered at shutdown goes when the database is unreachable (JSON
# lines); the next start writes it. Local to the machine: give each replica its own.
VANDAMME_USAGE_SPOOL_DIR = Path(env.str("VANDAMME_USAGE_SPOOL_DIR", default=str(BASE_DIR / "usage-spool")))
# Seconds a SIGTERM'd process keeps finishing open requests and streams before it stops
# (Kubernetes: terminationGracePeriodSeconds must cover this plus the preStop sleep).
VANDAMME_DRAIN_SECONDS = env.float("VANDAMME_DRAIN_SECONDS", default=30.0)
# Team and key limit counters: in this Redis (shared by every process), else in memory.
VANDAMME_LIMITS_REDIS_URL = env.str("VANDAMME_LIMITS_REDIS_URL", default=REDIS_URL)
# Seconds a limit check waits for Redis before admitting the request unchecked.
VANDAMME_LIMITS_REDIS_TIMEOUT = env.float("VANDAMME_LIMITS_REDIS_TIMEOUT", default=VANDAMME_REDIS_TIMEOUT)
# Model groups: a deployment's circuit breaker opens after FAILURES failures (5xx,
# timeouts, connection errors) within WINDOW seconds, and half-opens after COOLDOWN.
VANDAMME_GROUP_BREAKER_FAILURES = env.int("VANDAMME_GROUP_BREAKER_FAILURES", default=5)
VANDAMME_GROUP_BREAKER_WINDOW_SECONDS = env.float("VANDAMME_GROUP_BREAKER_WINDOW_SECONDS", default=60.0)
VANDAMME_GROUP_BREAKER_COOLDOWN_SECONDS = env.float("VANDAMME_GROUP_BREAKER_COOLDOWN_SECONDS", default=30.0)
# Active health checks of group targets whose breaker waits for a probe, every that many
# seconds; 0 (the default) is off: each check is a real, billed model call.
VANDAMME_GROUP_HEALTH_CHECK_SECONDS = env.float("VANDAMME_GROUP_HEALTH_CHECK_SECONDS", default=0.0)
# Keep a conversation on the group deployment that served it while that one is healthy.
VANDAMME_GROUP_AFFINITY = env.bool("VANDAMME_GROUP_AFFINITY", default=True)
# Breaker states shared by every process through this Redis (empty: per process).
VANDAMME_GROUPS_REDIS_URL = env.str("VANDAMME_GROUPS_REDIS_URL", default=REDIS_URL)
# Distinct `model` label values per provider in /metrics; later models count as "other".
VANDAMME_METRICS_MAX_MODELS = env.int("VANDAMME_METRICS_MAX_MODELS", default=50)
# Shared directory for prometheus-client's multiprocess mode (several processes, one
# host). prometheus-client reads the variable from the environment itself, at import.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# OpenTelemetry traces (routing.tracing) are configured by the standard OTEL_* variables,
# read by the SDK itself. Prompt and completion text go into spans only when this is on.
VANDAMME_OTEL_CAPTURE_CONTENT = env.bool("VANDAMME_OTEL_CAPTURE_CONTENT", default=False)

# "text" (readable, the default) or "json" (one object per line, for log collectors).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}")
# One line per data-plane request (~30 µs each); off when a reverse proxy logs access already.
VANDAMME_ACCESS_LOG = env.bool("VANDAMME_ACCESS_LOG", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "vandamme.logs.RequestIdFilter"},
        "data_plane_error_responses": {"()": "vandamme.logs.DataPlaneErrorResponseFilter"},
        "server_access_lines": {"()": "vandamme.logs.ServerAccessLineFilter"},
    },
    "formatters": {
        "text": {"()": "vandamme.logs.TextFormatter"},
        "json": {"()": "vandamme.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR", "filters": ["data_plane_error_responses"]},
        # One INFO line per upstream call from httpx is noise (and URLs may carry queries).
        "httpx": {"level": "WARNING"},
        "vandamme.access": {"level": "INFO" if VANDAMME_ACCESS_LOG else "WARNING"},
        # The servers' own access lines carry query strings: key-shaped text is redacted.
        # uvicorn.access: our handler too, since configuring the logger drops uvicorn's own.
        "uvicorn.access": {"handlers": ["console"], "propagate": False, "filters": ["server_access_lines"]},
        "django.channels.server": {"filters": ["server_access_lines"]},
    },
}
