"""A strict Content-Security-Policy on every page, and pages that need nothing inline:
no <script> without src, no on…= handler, no style= attribute (the admin's inline tags
carry the per-response nonce)."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")([^>]*)>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def _policy(response) -> dict:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


def _assert_strict(response):
    policy = _policy(response)
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in policy.get(directive, [])
        assert "'unsafe-eval'" not in policy.get(directive, [])
    assert policy["script-src"][0] == "'self'" and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    # Django adds the nonce to the header only when the page used it.
    nonce = next((s[7:-1] for s in policy["script-src"] if s.startswith("'nonce-")), None)
    html = response.content.decode()
    for match in INLINE_SCRIPT.finditer(html):
        assert nonce and f'nonce="{nonce}"' in match.group(1), match.group(0)
    assert not HANDLER.search(html), HANDLER.search(html).group(0)
    assert not STYLE_ATTR.search(html), STYLE_ATTR.search(html).group(0)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["jobs:create", "jobs:history", "jobs:gallery", "jobs:notifications"])
def test_studio_pages_send_a_strict_policy_and_nothing_inline(logged_in, make_job, alice, name):
    make_job(alice, status="failed", error_category="timeout", error_message="x")
    response = logged_in.get(reverse(name))
    assert response.status_code == 200
    _assert_strict(response)


@pytest.mark.django_db
def test_the_job_page_and_login_send_it_too(client, alice, make_job):
    job = make_job(alice, status="done", video_url="https://cdn.example/v.mp4")
    _assert_strict(client.get(reverse("login")))
    client.force_login(alice)
    _assert_strict(client.get(reverse("jobs:detail", args=[job.code])))


@pytest.mark.django_db
def test_the_admin_pages_need_nothing_inline_but_nonced_tags(client, alice, make_job, characters):
    client.force_login(User.objects.create_superuser("root", password="root-pw-123!"))
    job = make_job(alice)
    for url in (reverse("admin:index"), reverse("admin:jobs_job_change", args=[job.pk]),
                reverse("admin:jobs_character_changelist")):
        response = client.get(url)
        assert response.status_code == 200
        _assert_strict(response)


@pytest.mark.django_db
def test_results_and_pictures_from_the_configured_addresses_are_allowed(logged_in):
    """A page opened at http://localhost:8000 shows results and character pictures that
    the engine serves under PUBLIC_BASE_URL (http://127.0.0.1:8000 by default)."""
    from django.conf import settings

    policy = logged_in.get("/").headers["Content-Security-Policy"]
    engine_origin = "/".join(settings.ENGINE_BASE_URL.split("/")[:3])
    img = next(part for part in policy.split(";") if part.strip().startswith("img-src"))
    media = next(part for part in policy.split(";") if part.strip().startswith("media-src"))
    assert engine_origin in img.split() and engine_origin in media.split()
