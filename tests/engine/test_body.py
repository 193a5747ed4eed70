"""/engine/generate reads the license while the body streams to a spool file: a big body
with a wrong license is refused without being parsed or held in memory."""

import json
import tracemalloc

import pytest
from django.test import RequestFactory

from engine import views
from engine.body import LicenseScanner

MiB = 1024 * 1024


def scan(text: bytes, chunk: int = 1) -> str | None:
    scanner = LicenseScanner()
    for i in range(0, len(text), chunk):
        scanner.feed(text[i:i + chunk])
    return scanner.license


@pytest.mark.parametrize("doc", [
    b'{"license": "sk-1"}',
    b'{"audio_base64": "QUJD", "license": "sk-2", "voice": "nova"}',
    b'{"a": {"license": "nested-not-me"}, "license": "sk-3"}',
    b'{"a": ["license", "x"], "b": "license", "license": "sk-\\"4\\\\"}',
    b'{"licen\\u0073e": "sk-\\u0035"}',
    b'{"license": "first", "license": "last"}',
    b'{"license": "first", "license": 7}',
    b'{"license": {"x": "y"}}',
    b'{"license": ["sk"]}',
    b'["license", "sk"]',
    b'{"x": "\\"license\\": \\"fake\\"", "license": "sk-6"}',
    b'  {\n "content" : "a,b:c{}[]" ,\n "license" :\t"sk-7" }  ',
    b'{"x": 1}',
    b'not json at all',
])
@pytest.mark.parametrize("chunk", [1, 3, 64 * 1024])
def test_the_scanner_finds_the_license_json_would(doc, chunk):
    try:
        parsed = json.loads(doc)
        expected = parsed.get("license") if isinstance(parsed, dict) else None
        expected = expected if isinstance(expected, str) else None
    except ValueError:
        expected = None
    assert scan(doc, chunk) == expected


def _request(license: str, audio_mib: int):
    body = b'{"character_name": "navtalk.Leo", "audio_base64": "' + b"QUJD" * (audio_mib * MiB // 4) + \
        b'", "license": "' + license.encode() + b'"}'
    return RequestFactory().post("/engine/generate", data=body, content_type="application/json")


@pytest.mark.django_db
def test_a_big_body_with_a_wrong_license_is_refused_without_being_held():
    request = _request("sk-wrong-license-0000", audio_mib=24)  # the request's bytes exist before we measure
    tracemalloc.start()
    try:
        response = views.generate(request)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 401
    assert peak < 6 * MiB, f"peak {peak / MiB:.1f} MiB while refusing a 24 MiB body"


@pytest.mark.django_db
def test_a_big_body_with_the_right_license_is_still_read(settings):
    response = views.generate(_request(settings.ENGINE_LICENSES[0], audio_mib=3))
    assert response.status_code not in (401, 413)


@pytest.mark.django_db
def test_a_body_over_the_cap_is_413_before_anything_is_read(settings):
    settings.ENGINE_FETCH_MAX_MB = 1
    response = views.generate(_request("sk-wrong-license-0000", audio_mib=3))
    assert response.status_code == 413
