"""Hostile bodies to the engine's API over real HTTP: each is a 4xx with a message, never a 500."""

import pytest

from engine import validate
from tests.engine.api_support import ALICE, GOOD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine")]


def test_a_100000_deep_json_body_is_a_400_not_a_recursion_error(api):  # noqa: F811
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"[" * 100_000):
        response = api.generate(raw=raw)
        assert response.status_code == 400
        assert "nests deeper than" in response.json()["message"]


def test_depth_counting_ignores_brackets_inside_strings():
    assert not validate.json_depth_exceeds(b'{"content": "' + b"[" * 1000 + b'\\"]"}')
    assert validate.json_depth_exceeds(b"[" * 33)
    assert not validate.json_depth_exceeds(b"[" * 32 + b"]" * 32)


def test_a_lone_surrogate_is_refused_not_a_500(api):  # noqa: F811
    response = api.generate(raw=b'{"license": "\\ud800", "character_name": "navtalk.Leo"}')
    assert response.status_code == 401
    response = api.generate(raw=(f'{{"license": "{ALICE}", "character_name": "navtalk.Leo", "voice": "nova", '
                                 '"content": "hi \\udfff there"}').encode())
    assert response.status_code == 400
    assert "not valid text" in response.json()["errors"]["content"]
    response = api.generate(raw=(f'{{"license": "{ALICE}", "\\ud800": 1}}').encode())
    assert response.status_code == 400


@pytest.mark.parametrize("url,words", [
    ("http://[::1/x", "not a valid link"), ("http://example.com:99999/a.jpg", "not a valid link"),
    ("http://good@127.0.0.1/a.jpg", "user name or password"),
])
def test_a_malformed_link_is_a_400_with_a_field_message(api, url, words):  # noqa: F811
    body = {"license": ALICE, "image_url": url, "content": GOOD["content"], "voice": "nova"}
    response = api.generate(body)
    assert response.status_code == 400
    assert words in response.json()["errors"]["image_url"]


@pytest.mark.parametrize("mode", [[], {}, ["jaw"], {"a": 1}])
def test_an_unhashable_parsing_mode_is_a_400(api, mode):  # noqa: F811
    body = {"license": ALICE, **GOOD, "parsing_mode": mode}
    response = api.generate(body)
    assert response.status_code == 400
    assert "parsing_mode must be" in response.json()["errors"]["parsing_mode"]
