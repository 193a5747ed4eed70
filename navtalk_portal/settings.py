"""NavTalk Portal settings: one file, every knob from the environment.

Every variable read here is listed in `.env.example` and in the README's settings
table. With nothing set the portal runs on embedded defaults: SQLite, a Celery broker
on the filesystem (no server), and the local engine (`engine/`) as the upstream.
"""

import hashlib
from pathlib import Path

import environ
from django.utils.csp import CSP

from . import config, local_secrets

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# Runtime state (SQLite file, filesystem broker, beat schedule) lives here.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# PORTAL_LOCAL=1 (what `make run` sets): DEBUG=False behaviour on this machine's loopback
# over plain HTTP: no HTTPS redirect, no HSTS, cookies without the Secure flag, email to
# the console. Refused unless every ALLOWED_HOSTS entry is a loopback name.
PORTAL_LOCAL = env.bool("PORTAL_LOCAL", default=False)
# Development and local runs take every secret the environment does not set from
# VAR_DIR/secrets.env, drawn at random on the first start (navtalk_portal.local_secrets).
# Production (DEBUG=False, no PORTAL_LOCAL) refuses to start without its own.
_LOCAL_SECRETS = local_secrets.load(VAR_DIR) if (DEBUG or PORTAL_LOCAL) else {}
if _LOCAL_SECRETS:
    SECRET_KEY = env.str("SECRET_KEY", default=_LOCAL_SECRETS["SECRET_KEY"])
else:
    SECRET_KEY = env.str("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if PORTAL_LOCAL and not set(ALLOWED_HOSTS) <= {"localhost", "127.0.0.1", "[::1]", "testserver"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("PORTAL_LOCAL=1 serves plain HTTP on loopback only; ALLOWED_HOSTS has other names.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",  # login throttling with lockout (/login/ and /admin/login/)
    "cluster",  # leases several machines agree on (one beat; voice samples fetched once)
    "accounts",
    "keys",
    "jobs",
    "front",
    "engine",
    "rest_framework",  # the REST API (api/)
    "drf_spectacular",  # its OpenAPI 3 schema
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our static (no CDN)
    "automation",  # presets and webhooks (issue 14)
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.CurrentTeamMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out login with 429
]

ROOT_URLCONF = "navtalk_portal.urls"

# ENGINE_ONLY=1 runs this codebase as the local engine alone: its own URLconf (/engine/…
# and /healthz), its own tables only (point DATABASE_URL at a database of its own, or
# leave it to the default SQLite file in its VAR_DIR), none of the portal's apps. The
# portal then reaches it over HTTP only, as it reaches NavTalk.
ENGINE_ONLY = env.bool("ENGINE_ONLY", default=False)
if ENGINE_ONLY:
    INSTALLED_APPS = ["django.contrib.contenttypes", "engine"]
    MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
    ROOT_URLCONF = "engine.service_urls"
WSGI_APPLICATION = "navtalk_portal.wsgi.application"

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
                "django.template.context_processors.csp",
                "front.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so the worker processes that end-to-end tests start see it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # Web, worker, beat and engine share one SQLite file: WAL + a busy timeout let
    # them write without "database is locked"; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "jobs:create"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes), for /login/ and /admin/login/ alike (both go through
# authenticate()): after LOGIN_FAILURE_LIMIT wrong passwords for one user name from one
# address, that pair is locked out for LOGIN_LOCKOUT_MINUTES (HTTP 429). A successful
# login resets the count. Per user name + address, so one attacker cannot lock a person
# out from everywhere, and tests never lock each other out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]  # behind a proxy, set this to its header

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Media (uploads, archived results, posters, voice samples) goes through Django's storage
# API only (lib.storage): the filesystem under MEDIA_ROOT by default; S3-compatible object
# storage (django-storages, private bucket, presigned links) when S3_BUCKET is set, which
# is what lets web and worker nodes run on several machines without a shared folder.
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="")  # empty: AWS's own endpoint
S3_BUCKET = env.str("S3_BUCKET", default="")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID", default="")
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY", default="")
S3_REGION = env.str("S3_REGION", default="us-east-1")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

if S3_BUCKET:
    from lib.storage import s3_options

    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(
        endpoint_url=S3_ENDPOINT_URL, bucket=S3_BUCKET, access_key=S3_ACCESS_KEY_ID,
        secret_key=S3_SECRET_ACCESS_KEY, region=S3_REGION,
        url_max_age=env.int("MEDIA_URL_MAX_AGE", default=3600))}

# --- Portal -------------------------------------------------------------------------

# Absolute base URL the upstream uses to fetch uploaded media (must be reachable by it).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# How long a signed media URL handed to the upstream stays valid.
MEDIA_URL_MAX_AGE = env.int("MEDIA_URL_MAX_AGE", default=3600)
UPLOAD_MAX_VIDEO_MB = env.int("UPLOAD_MAX_VIDEO_MB", default=100)
UPLOAD_MAX_IMAGE_MB = env.int("UPLOAD_MAX_IMAGE_MB", default=10)
UPLOAD_MAX_AUDIO_MB = env.int("UPLOAD_MAX_AUDIO_MB", default=10)
TEXT_MAX_CHARS = env.int("TEXT_MAX_CHARS", default=2000)
# What one input may cost to render, checked by content at upload and by the local engine
# on what it downloads (lib.mediacaps): pixels, video resolution and duration, audio duration.
MEDIA_MAX_IMAGE_PIXELS = env.int("MEDIA_MAX_IMAGE_PIXELS", default=40_000_000)
MEDIA_MAX_VIDEO_PIXELS = env.int("MEDIA_MAX_VIDEO_PIXELS", default=3840 * 2160)
MEDIA_MAX_VIDEO_SECONDS = env.float("MEDIA_MAX_VIDEO_SECONDS", default=120.0)
MEDIA_MAX_AUDIO_SECONDS = env.float("MEDIA_MAX_AUDIO_SECONDS", default=300.0)
# Job creation limits, per person and per team (jobs.services.job_create, atomically).
JOB_RATE_PER_USER_PER_MINUTE = env.int("JOB_RATE_PER_USER_PER_MINUTE", default=10)
JOB_RATE_PER_TEAM_PER_MINUTE = env.int("JOB_RATE_PER_TEAM_PER_MINUTE", default=30)
JOB_MAX_IN_FLIGHT_PER_USER = env.int("JOB_MAX_IN_FLIGHT_PER_USER", default=10)
JOB_MAX_IN_FLIGHT_PER_TEAM = env.int("JOB_MAX_IN_FLIGHT_PER_TEAM", default=30)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The REST API (api/): personal access tokens, each limited to API_RATE_PER_TOKEN calls
# ("N/second|minute|hour|day"; counted in Django's cache). A token lives at most
# API_TOKEN_MAX_DAYS (0: a person may make one that never expires).
API_RATE_PER_TOKEN = env.str("API_RATE_PER_TOKEN", default="120/minute")
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
# Signed webhooks (automation.webhooks): retries after the first send (seconds, about a
# day in all), failed attempts in a row that disable an endpoint, the time a receiver has
# to answer, and the exact non-public origins receivers may use (e.g. http://10.0.0.5:8080/hooks/).
WEBHOOK_RETRY_SCHEDULE = env.str("WEBHOOK_RETRY_SCHEDULE", default="5,300,1800,7200,18000,36000,36000")
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=8)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_ALLOWED_PRIVATE = tuple(env.list("WEBHOOK_ALLOWED_PRIVATE", default=[]))
# Batches from a spreadsheet: most rows one batch may have.
BATCH_MAX_ROWS = env.int("BATCH_MAX_ROWS", default=1000)
REST_FRAMEWORK = config.REST_FRAMEWORK  # token auth + scopes + per-token rate, JSON errors by field
SPECTACULAR_SETTINGS = config.SPECTACULAR_SETTINGS  # the OpenAPI 3 schema at /api/schema/

# License keys are encrypted at rest with MultiFernet. The first key encrypts; every
# key decrypts (rotation: put the new key first, run `manage.py rotate_license_keys`).
if _LOCAL_SECRETS:
    LICENSE_ENCRYPTION_KEYS = env.list("LICENSE_ENCRYPTION_KEYS",
                                       default=_LOCAL_SECRETS["LICENSE_ENCRYPTION_KEYS"].split(","))
else:
    LICENSE_ENCRYPTION_KEYS = env.list("LICENSE_ENCRYPTION_KEYS")

NAVTALK_GENERATE_URL = env.str("NAVTALK_GENERATE_URL", default="https://app.navtalk.ai/generate")
NAVTALK_QUERY_STATUS_URL = env.str("NAVTALK_QUERY_STATUS_URL", default="https://api.navtalk.ai/query_status")
# (connect, read) seconds for every upstream call.
NAVTALK_CONNECT_TIMEOUT = env.float("NAVTALK_CONNECT_TIMEOUT", default=5.0)
NAVTALK_READ_TIMEOUT = env.float("NAVTALK_READ_TIMEOUT", default=30.0)

# The job pipeline.
JOB_DEADLINE_SECONDS = env.int("JOB_DEADLINE_SECONDS", default=15 * 60)
POLL_BATCH_SIZE = env.int("POLL_BATCH_SIZE", default=200)
POLL_CONCURRENCY = env.int("POLL_CONCURRENCY", default=16)
POLL_INTERVAL_SECONDS = env.float("POLL_INTERVAL_SECONDS", default=0.5)
POLL_MAX_BACKOFF_SECONDS = env.float("POLL_MAX_BACKOFF_SECONDS", default=30.0)
# > 0: poll every job at this fixed interval instead of the learned schedule (jobs.schedule).
POLL_FIXED_SECONDS = env.float("POLL_FIXED_SECONDS", default=0.0)
RECONCILE_INTERVAL_SECONDS = env.float("RECONCILE_INTERVAL_SECONDS", default=60.0)
RECONCILE_DISPATCH_GRACE_SECONDS = env.float("RECONCILE_DISPATCH_GRACE_SECONDS", default=30.0)
SUBMIT_MAX_ATTEMPTS = env.int("SUBMIT_MAX_ATTEMPTS", default=5)
# The audit trail keeps events this many days (0: forever); beat prunes older ones daily.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# A poller's claim on a job lasts this long. A poll round starts no query after
# POLL_LEASE_SECONDS − (connect + read timeout) − min(5 s, 10 %), so a round always ends inside its
# lease (no second poller queries the same job meanwhile; jobs.checks verifies it), and a
# worker killed mid-round delays its claimed jobs by at most this long.
POLL_LEASE_SECONDS = env.float("POLL_LEASE_SECONDS", default=90.0)

# Archiving finished videos into media storage (jobs.archive).
ARCHIVE_RESULTS = env.bool("ARCHIVE_RESULTS", default=True)
ARCHIVE_MAX_MB = env.int("ARCHIVE_MAX_MB", default=500)
ARCHIVE_TIMEOUT_SECONDS = env.float("ARCHIVE_TIMEOUT_SECONDS", default=120.0)
ARCHIVE_MAX_TRIES = env.int("ARCHIVE_MAX_TRIES", default=6)

# --- Local engine -------------------------------------------------------------------

# The licenses the local engine accepts. Locally, a random one from VAR_DIR/secrets.env
# (`make run` needs no configuration); in production, one derived from the (secret,
# random) SECRET_KEY unless set. `bootstrap` stores the first as the "Local engine" key.
ENGINE_LICENSES = env.list(
    "ENGINE_LICENSES",
    default=[_LOCAL_SECRETS.get("ENGINE_LICENSES")
             or "sk-local-" + hashlib.sha256(f"engine:{SECRET_KEY}".encode()).hexdigest()[:32]],
)
ENGINE_BASE_URL = env.str("ENGINE_BASE_URL", default=PUBLIC_BASE_URL + "/engine").rstrip("/")
# How long the signed video_url in an engine status reply stays valid (seconds).
ENGINE_MEDIA_URL_MAX_AGE = env.int("ENGINE_MEDIA_URL_MAX_AGE", default=24 * 3600)

# The SSRF-safe fetcher (lib.fetch) refuses every non-public address except for links
# under these exact origins: "scheme://host:port" plus an optional path prefix, e.g.
# "http://127.0.0.1:8000/engine/media/". FETCH_ALLOWED_PRIVATE is for the portal's own
# fetches (archiving results): by default the local engine's media path when
# ENGINE_BASE_URL is on loopback. ENGINE_FETCH_ALLOWED_PRIVATE is for the local engine's
# input downloads: by default the portal's signed-media path (PUBLIC_BASE_URL + "/m/")
# when PUBLIC_BASE_URL is on loopback. Nothing else private is ever reachable.
FETCH_ALLOWED_PRIVATE = tuple(env.list("FETCH_ALLOWED_PRIVATE",
                                       default=config.loopback_origin(ENGINE_BASE_URL, "/media/")))
# With media on S3 the engine fetches uploads by presigned links to the bucket's uploads/:
# allowed by default too when S3_ENDPOINT_URL is on loopback.
ENGINE_FETCH_ALLOWED_PRIVATE = tuple(env.list("ENGINE_FETCH_ALLOWED_PRIVATE", default=config.loopback_origin(
    PUBLIC_BASE_URL, "/m/") + (config.loopback_origin(S3_ENDPOINT_URL, f"/{S3_BUCKET}/uploads/") if S3_BUCKET else [])))
# Every server-side download is cut off when it sends fewer than FETCH_MIN_BYTES_PER_SECOND
# bytes a second for FETCH_MIN_RATE_SECONDS seconds (a link dripping 1 byte/s ends fast).
FETCH_MIN_BYTES_PER_SECOND = env.int("FETCH_MIN_BYTES_PER_SECOND", default=1024)
FETCH_MIN_RATE_SECONDS = env.int("FETCH_MIN_RATE_SECONDS", default=5)
ENGINE_MEDIA_ROOT = Path(env.str("ENGINE_MEDIA_ROOT", default=str(MEDIA_ROOT / "engine")))
# The engine's own storage (its inputs, results, instant clip, voice samples), read at call
# time by engine.services.storage(): ENGINE_MEDIA_ROOT on the filesystem unless
# ENGINE_S3_BUCKET is set (by default the portal's S3 settings, under ENGINE_S3_PREFIX).
ENGINE_S3_ENDPOINT_URL = env.str("ENGINE_S3_ENDPOINT_URL", default=S3_ENDPOINT_URL)
ENGINE_S3_BUCKET = env.str("ENGINE_S3_BUCKET", default=S3_BUCKET)
ENGINE_S3_ACCESS_KEY_ID = env.str("ENGINE_S3_ACCESS_KEY_ID", default=S3_ACCESS_KEY_ID)
ENGINE_S3_SECRET_ACCESS_KEY = env.str("ENGINE_S3_SECRET_ACCESS_KEY", default=S3_SECRET_ACCESS_KEY)
ENGINE_S3_REGION = env.str("ENGINE_S3_REGION", default=S3_REGION)
ENGINE_S3_PREFIX = env.str("ENGINE_S3_PREFIX", default="engine")
ENGINE_FETCH_MAX_MB = env.int("ENGINE_FETCH_MAX_MB", default=100)
ENGINE_FETCH_TIMEOUT = env.float("ENGINE_FETCH_TIMEOUT", default=30.0)
ENGINE_CONTENT_MAX_CHARS = env.int("ENGINE_CONTENT_MAX_CHARS", default=5000)
# A render still "started" this long after it was queued is queued again.
ENGINE_REDISPATCH_SECONDS = env.int("ENGINE_REDISPATCH_SECONDS", default=300)
# Fault injection for tests and benchmarks, e.g. "latency=10,fail_rate=0.1,mode=instant".
ENGINE_FAULTS = env.str("ENGINE_FAULTS", default="")
ENGINE_FAULTS_SEED = env.int("ENGINE_FAULTS_SEED", default=None)

# --- Celery -------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
BROKER_VISIBILITY_TIMEOUT = env.int("BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = config.broker_transport_options(CELERY_BROKER_URL, VAR_DIR,
                                                                 BROKER_VISIBILITY_TIMEOUT)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Priorities (0 is the most urgent; Redis and the filesystem broker of brokers.py honour
# them): the batch poller and the reconciler (default 0) never wait behind a burst of
# submissions (3), and those never wait behind the deferred work a finished job brings (6).
CELERY_TASK_ROUTES = {
    "engine.tasks.*": {"queue": "engine"},
    "jobs.tasks.submit_job": {"priority": 3},
    "jobs.tasks.archive_job": {"priority": 6},
    "jobs.tasks.notify_job_finished": {"priority": 6},
}
CELERY_BEAT_SCHEDULE = {
    "poll-due-jobs": {"task": "jobs.tasks.poll_due_jobs", "schedule": POLL_INTERVAL_SECONDS,
                      "options": {"expires": max(POLL_INTERVAL_SECONDS * 5, 5)}},
    "reconcile-jobs": {"task": "jobs.tasks.reconcile_jobs", "schedule": RECONCILE_INTERVAL_SECONDS,
                       "options": {"expires": RECONCILE_INTERVAL_SECONDS}},
    "deliver-webhooks": {"task": "automation.tasks.deliver_due_webhooks", "schedule": 15.0,
                         "options": {"expires": 15.0}},
    "prune-audit": {"task": "accounts.tasks.prune_audit", "schedule": 86400.0, "options": {"expires": 3600.0}},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Several beats may run (several machines); only the one holding a lease in the database
# sends tasks (cluster.beat). It renews the lease every BEAT_LEASE_SECONDS / 3; if it dies,
# another beat takes over within BEAT_LEASE_SECONDS * 4 / 3 (13.3 s by default).
CELERY_BEAT_SCHEDULER = "cluster.beat:LeaderScheduler"
BEAT_LEASE_SECONDS = env.float("BEAT_LEASE_SECONDS", default=10.0)

# --- Email, logging, security ---------------------------------------------------------

_email_backend = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend" if DEBUG or PORTAL_LOCAL
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = config.mailers(_email_backend, {
    "host": env.str("EMAIL_HOST", default="localhost"),
    "port": env.int("EMAIL_PORT", default=587),
    "username": env.str("EMAIL_HOST_USER", default=""),
    "password": env.str("EMAIL_HOST_PASSWORD", default=""),
    "use_tls": env.bool("EMAIL_USE_TLS", default=True),
})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="navtalk-portal@localhost")

CELERY_TASK_LOGS = env.bool("CELERY_TASK_LOGS", default=False)
# urllib3 (request lines with the license) and per-task Celery lines stay quiet whatever
# LOG_LEVEL says; see navtalk_portal.config.logging.
LOGGING = config.logging(env.str("LOG_LEVEL", default="INFO"))

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Error reports (DEBUG pages, admin emails) never show a license or another secret.
DEFAULT_EXCEPTION_REPORTER_FILTER = "navtalk_portal.reporting.SecretsFilter"
DEFAULT_EXCEPTION_REPORTER = "navtalk_portal.reporting.SecretsReporter"
# Content-Security-Policy (Django's own middleware; navtalk_portal.config says what it
# admits): the admin and every page use the per-response nonce ({{ csp_nonce }}).
# CSP_REPORT_ONLY=True sends it as Content-Security-Policy-Report-Only.
_CSP = config.content_security_policy(CSP, [PUBLIC_BASE_URL, ENGINE_BASE_URL])
if env.bool("CSP_REPORT_ONLY", default=False):
    SECURE_CSP_REPORT_ONLY = _CSP
else:
    SECURE_CSP = _CSP
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not PORTAL_LOCAL)
    SESSION_COOKIE_SECURE = not PORTAL_LOCAL
    CSRF_COOKIE_SECURE = not PORTAL_LOCAL
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if PORTAL_LOCAL else 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
