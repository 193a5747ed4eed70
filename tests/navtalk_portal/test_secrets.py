"""Secrets: drawn at random on the first local start and kept; never on an error page;
`make run`'s DEBUG=False-on-loopback mode (PORTAL_LOCAL) works over plain HTTP."""

import json
import stat
import subprocess
import sys

import pytest
from django.core import signing
from django.test import RequestFactory
from django.views.debug import technical_500_response

from jobs import media
from tests.navtalk_portal.test_settings import ROOT, run

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'secret': s.SECRET_KEY, 'fernet': s.LICENSE_ENCRYPTION_KEYS, 'engine': s.ENGINE_LICENSES, "
    "'ssl': getattr(s, 'SECURE_SSL_REDIRECT', False), 'cookie': getattr(s, 'SESSION_COOKIE_SECURE', False), "
    "'hsts': getattr(s, 'SECURE_HSTS_SECONDS', 0), 'debug': s.DEBUG}))"
)
# Built at run time, so the report's source-code excerpts cannot contain them.
GET_LICENSE, POST_LICENSE, TOKEN = ("".join(parts) for parts in (
    ("sk-get-", "param-0123456789"), ("sk-post-", "param-0123456789"), ("tok-", "0123456789abcdef")))


def probe(tmp_path, **env):
    result = run({"VAR_DIR": str(tmp_path), **env}, code=PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def bare_env(monkeypatch):
    for name in ("SECRET_KEY", "LICENSE_ENCRYPTION_KEYS", "ENGINE_LICENSES", "PORTAL_LOCAL", "ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


def test_the_first_start_draws_random_secrets_and_keeps_them(tmp_path, bare_env):
    first = probe(tmp_path / "a")
    assert first == probe(tmp_path / "a")  # kept
    other = probe(tmp_path / "b")
    for name in ("secret", "fernet", "engine"):
        assert first[name] != other[name]  # random, not derived from anything public
    assert "insecure" not in first["secret"] and len(first["secret"]) >= 50
    path = tmp_path / "a" / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert probe(tmp_path / "a", SECRET_KEY="from-the-env-" + "x" * 40)["secret"].startswith("from-the-env-")
    ignored = subprocess.run(["git", "check-ignore", "-q", "var/secrets.env"], cwd=ROOT)
    assert ignored.returncode == 0


def test_concurrent_first_starts_agree_on_one_set(tmp_path, bare_env):
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from navtalk_portal import local_secrets as l; " \
           f"print(l.load(__import__('pathlib').Path({str(tmp_path)!r}))['SECRET_KEY'])"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    assert len({p.communicate()[0] for p in procs}) == 1


def test_portal_local_is_debug_false_over_plain_http_on_loopback(tmp_path, bare_env):
    values = probe(tmp_path, DEBUG="False", PORTAL_LOCAL="1")
    assert (values["debug"], values["ssl"], values["cookie"], values["hsts"]) == (False, False, False, 0)
    assert values["secret"] and values["engine"]
    refused = run({"VAR_DIR": str(tmp_path), "DEBUG": "False", "PORTAL_LOCAL": "1",
                   "ALLOWED_HOSTS": "portal.example.com"}, code=PROBE)
    assert refused.returncode != 0 and "PORTAL_LOCAL" in refused.stderr
    # Production never falls back on the local file, even when one exists.
    production = run({"VAR_DIR": str(tmp_path), "DEBUG": "False"}, "check")
    assert production.returncode != 0 and "SECRET_KEY" in production.stderr


def test_a_wrong_host_debug_page_shows_no_license(client, settings):
    settings.DEBUG = True
    response = client.get("/engine/query_status", {"license": "sk-caller-license-0123456789", "task_id": "x"},
                          HTTP_HOST="evil.example")
    assert response.status_code == 400
    page = response.content.decode()
    assert "DisallowedHost" in page
    for secret in [*settings.ENGINE_LICENSES, *settings.LICENSE_ENCRYPTION_KEYS, settings.SECRET_KEY,
                   "sk-caller-license-0123456789"]:
        assert secret not in page


def test_an_error_report_hides_licenses_in_settings_params_and_frames(settings):
    settings.DEBUG = True
    engine_license = settings.ENGINE_LICENSES[0]
    request = RequestFactory().post(f"/engine/generate?license={GET_LICENSE}&x=1",
                                    {"license": POST_LICENSE, "title": "hello"})
    request.POST  # noqa: B018 (parsed, as a view would have)

    def view(license, raw):
        body = {"license": license, "nested": {"api_token": TOKEN}}  # noqa: F841
        text = f"refused {engine_license.upper()} in {raw!r}"  # noqa: F841
        raise RuntimeError("boom")

    try:
        view(engine_license, b'{"license": "' + engine_license.encode() + b'"}')
    except RuntimeError:
        html = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "RuntimeError" in html and "hello" in html
    for secret in [engine_license, engine_license.upper(), *settings.LICENSE_ENCRYPTION_KEYS, settings.SECRET_KEY,
                   GET_LICENSE, POST_LICENSE, TOKEN]:
        assert secret not in html, secret


@pytest.mark.parametrize("name", [
    "uploads/../results/other-team.mp4", "uploads/x/../../results/other-team.mp4", "/uploads/a.jpg",
    "uploads\\..\\results\\other-team.mp4", "uploads/./a.jpg", "uploads//a.jpg", "results/other-team.mp4",
    "uploads/..", "uploads/a.jpg\x00.png",
])
def test_a_signed_media_token_cannot_leave_uploads(client, media_root, name):
    (media_root / "results").mkdir(parents=True)
    (media_root / "uploads").mkdir()
    (media_root / "results" / "other-team.mp4").write_bytes(b"secret video")
    (media_root / "uploads" / "a.jpg").write_bytes(b"jpeg")
    token = signing.dumps(name, salt=media.SALT, compress=True)
    assert client.get(f"/m/{token}/").status_code == 404
    good = signing.dumps("uploads/a.jpg", salt=media.SALT, compress=True)
    assert b"".join(client.get(f"/m/{good}/").streaming_content) == b"jpeg"
