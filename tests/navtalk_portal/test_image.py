"""The image build: nothing secret in the build context, and the web image (no [engine]
extra) really runs web, worker and beat without mediapipe, OpenCV or numpy."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.navtalk_portal.test_settings import ROOT

HEAVY = ("numpy", "cv2", "mediapipe", "matplotlib")
WITHOUT_HEAVY = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ImportError(f"{{name}} is not in the web image")
sys.meta_path.insert(0, Block())
import django
django.setup()
import importlib
for module in ("navtalk_portal.urls", "navtalk_portal.celery", "navtalk_portal.wsgi", "jobs.tasks",
               "engine.tasks", "engine.views", "front.views", "jobs.admin", "engine.admin"):
    importlib.import_module(module)
from django.core.management import call_command
call_command("check")
print("ok")
"""


def test_the_web_image_needs_none_of_the_engine_extra():
    result = subprocess.run([sys.executable, "-c", WITHOUT_HEAVY], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(ROOT / "var" / "test"),
                                              "DJANGO_SETTINGS_MODULE": "navtalk_portal.settings"})
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_the_build_context_leaves_secrets_and_state_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".env", "var/", "media/", ".venv/", ".git/", "node_modules/", "staticfiles/", "*.sqlite3",
                  "secrets.env"):
        assert entry in ignored, entry


def test_the_dockerfile_keeps_the_engine_extra_out_of_the_web_stage():
    stages = re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.M)[1:]
    by_name = {s.split()[2]: s for s in stages}
    assert {"web", "engine", "deps-web", "deps-engine"} <= by_name.keys()
    assert "[engine]" not in by_name["deps-web"] and "mediapipe" not in by_name["deps-web"]
    assert "--from=deps-web" in by_name["web"] and "deps-engine" not in by_name["web"]
    assert "[engine]" in by_name["deps-engine"] and "--from=deps-engine" in by_name["engine"]
    assert stages[-1].startswith("base AS web")  # `docker build .` makes the web image


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is not installed")
def test_the_compose_file_is_valid_and_uses_both_targets():
    result = subprocess.run(["docker-compose", "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "target: engine" in result.stdout and "target: web" in result.stdout
