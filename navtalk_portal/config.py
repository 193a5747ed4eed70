"""Builders for `settings.py`: the settings' structured values (logging, mail, CSP, broker
folders, allowed private origins), as plain functions of what the environment said.

Kept apart so `settings.py` stays one readable file of knobs, each read once from the
environment and documented beside it; nothing here reads the environment or imports Django
models, so importing this module cannot reach back into settings.
"""

from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

# The REST API (api/): personal access tokens with scopes and a rate per token
# (API_RATE_PER_TOKEN), JSON errors keyed by field, OpenAPI 3 by drf-spectacular.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.MultiPartParser",
                               "rest_framework.parsers.FormParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NavTalk Portal API",
    "DESCRIPTION": "Make talking-head videos from scripts: the portal's jobs, with a personal access token "
                   "(`Authorization: Bearer ntp_…`, made on the portal's API tokens page).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}


def loopback_origin(url: str, path: str) -> list[str]:
    """`url`'s origin and path + `path` as an allowed private prefix, if it is on loopback."""
    parts = urlsplit(url)
    if parts.hostname in LOOPBACK_HOSTS:
        return [f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{path}"]
    return []


def origin(url: str) -> str:
    """"scheme://host:port" of an http(s) URL, or "" for anything else."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def broker_transport_options(broker_url: str, var_dir: Path, visibility_timeout: int) -> dict:
    """kombu's options: folders under VAR_DIR for the filesystem broker, else Redis's."""
    if not broker_url.startswith("filesystem://"):
        return {"visibility_timeout": visibility_timeout}
    folder = var_dir / "broker"
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        # Look for new messages every 0.02 s (kombu's default 1 s caps a worker near one
        # task per slot per second).
        "polling_interval": 0.02,
    }


def mailers(backend: str, smtp: dict) -> dict:
    """Django's MAILERS: `smtp` (host, port, username, password, use_tls) for SMTP only."""
    return {"default": {"BACKEND": backend, "OPTIONS": smtp if backend.endswith("smtp.EmailBackend") else {}}}


def logging(level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "root": {"handlers": ["console"], "level": level},
        # urllib3 logs request lines (with query strings, where /query_status carries the
        # license) at DEBUG: keep it quiet whatever LOG_LEVEL says.
        # Celery's line per task received/succeeded and per task beat sends (hundreds a
        # minute with the poller): at DEBUG only, unless CELERY_TASK_LOGS=True
        # (navtalk_portal.celery). django-axes logs every login at INFO (four lines each,
        # and one per process start): only lockouts and failures matter in a studio's log.
        "loggers": {"django.db.backends": {"level": "WARNING"}, "urllib3": {"level": "WARNING"},
                    "axes": {"level": "WARNING"}},
    }


def content_security_policy(csp, media_urls: list[str]) -> dict:
    """Scripts and styles from this origin or with the per-response nonce, never inline
    ones; media from the video service's https links, the create form's local previews
    (blob:), and the portal's and engine's configured addresses (so a page opened at
    localhost still shows results served under 127.0.0.1). `csp` is django.utils.csp.CSP."""
    media_origins = sorted({o for o in map(origin, media_urls) if o})
    return {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "https:", "data:", "blob:", *media_origins],
        "media-src": [csp.SELF, "https:", "blob:", *media_origins],
        "connect-src": [csp.SELF],
        "font-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
