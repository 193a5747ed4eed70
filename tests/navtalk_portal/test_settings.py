"""Settings: embedded defaults with nothing set, services when URLs are set, a clean
production check. Each case runs in a fresh interpreter with a controlled environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'engine_key': s.ENGINE_LICENSES[0] != '', 'generate': s.NAVTALK_GENERATE_URL, 'debug': s.DEBUG}))"
)


def run(env_extra: dict, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="navtalk_portal.settings", VAR_DIR=str(ROOT / "var" / "test"))
    env.update(env_extra)
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_it_runs_on_embedded_defaults_with_nothing_set():
    result = run({}, code=PROBE)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {"db": "django.db.backends.sqlite3", "broker": "filesystem://localhost/", "engine_key": True,
                      "generate": "https://app.navtalk.ai/generate", "debug": True}


def test_it_uses_postgres_and_redis_when_their_urls_are_set():
    result = run({"DATABASE_URL": "postgres://u@db:5432/n", "REDIS_URL": "redis://r:6379/0"}, code=PROBE)
    values = json.loads(result.stdout)
    assert (values["db"], values["broker"]) == ("django.db.backends.postgresql", "redis://r:6379/0")


def test_production_settings_pass_the_deploy_check_without_warnings():
    from cryptography.fernet import Fernet

    env = {"DEBUG": "False", "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-value-0123456789",
           "LICENSE_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "ALLOWED_HOSTS": "portal.example.com"}
    result = run(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets():
    result = run({"DEBUG": "False"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
