import logging
import re

from django.apps import AppConfig
from django.core import checks

_LICENSE_IN_QUERY = re.compile(r"(license=)[^&\s\"']+", re.IGNORECASE)


class RedactLicense(logging.Filter):
    """Masks `license=…` in log records. NavTalk's query_status takes the license in
    the query string, so request lines (runserver's `django.server`, gunicorn's access
    log) would otherwise carry it."""

    def filter(self, record):
        if isinstance(record.msg, str) and "license=" in record.msg.lower():
            record.msg = _LICENSE_IN_QUERY.sub(r"\1[redacted]", record.msg)
        if isinstance(record.args, dict):
            record.args = {k: _redact(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact(v) for v in record.args)
        return True


def _redact(value):
    if isinstance(value, str) and "license=" in value.lower():
        return _LICENSE_IN_QUERY.sub(r"\1[redacted]", value)
    return value


def check_fault_spec(app_configs, **kwargs):
    from django.conf import settings

    from . import faults

    try:
        faults.parse(getattr(settings, "ENGINE_FAULTS", ""))
    except ValueError as exc:
        return [checks.Error(f"ENGINE_FAULTS is not a valid fault spec: {exc}", id="engine.E001")]
    return []


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Local engine (tests and diagnostics)"

    def ready(self):
        checks.register(check_fault_spec)
        for name in ("django.server", "gunicorn.access", "django.request"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactLicense) for f in logger.filters):
                logger.addFilter(RedactLicense())
