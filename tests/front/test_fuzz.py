"""The fuzz suite's fixed-seed run (bench/fuzz.py, `--examples 5000` for the full one):
hypothesis-generated requests to every endpoint that takes input, against a live server,
logged in with CSRF. No answer may be a 5xx, and every 4xx must say what was wrong."""

import pytest

from bench import fuzz

pytestmark = pytest.mark.django_db(transaction=True)
LICENSE = "sk-fuzz-test-0123456789abcdef"


def test_no_input_gets_a_server_error_or_an_unclear_refusal(live_server, settings, alice, media_root):
    settings.ENGINE_LICENSES = [LICENSE]
    settings.ENGINE_FAULTS = "mode=instant"
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.JOB_RATE_PER_USER_PER_MINUTE = 5  # limits on, as in production
    settings.AXES_FAILURE_LIMIT = 1000  # the login fuzzing uses other names, but never lock alice out
    target = fuzz.Target(live_server.url, fuzz.login(live_server.url, "alice", "pw-alice-123!"), LICENSE)
    tally = fuzz.run(target, 150, derandomize=True)
    errors = [(r.method, r.path, r.params, str(r.data or r.body)[:200], status, text[:200])
              for r, status, text in tally.server_errors]
    assert errors == []
    assert tally.unclear == 0, tally.unclear_examples
    assert sum(tally.statuses.values()) + tally.unsendable >= 150
    assert any(400 <= s < 500 for s in tally.statuses)  # the run really reached the checks
