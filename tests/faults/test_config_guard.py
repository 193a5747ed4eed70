"""The configuration guard (jobs.checks, also run by `manage.py check`): countdowns,
retry delays, the poll lease and the task time limits stay below the broker's
visibility timeout. And every failure category has plain words and a fix hint."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from jobs.checks import check_broker_timings, visibility_problems
from jobs.hints import HINTS, hint_for
from jobs.models import Job


def test_the_shipped_settings_pass_the_guard():
    assert visibility_problems() == []
    assert check_broker_timings() == []


@pytest.mark.parametrize("override, words", [
    ({"CELERY_TASK_TIME_LIMIT": 7200, "CELERY_TASK_SOFT_TIME_LIMIT": 7000}, "CELERY_TASK_TIME_LIMIT is 7200"),
    ({"CELERY_TASK_SOFT_TIME_LIMIT": 4000}, "CELERY_TASK_SOFT_TIME_LIMIT is 4000"),
    ({"POLL_LEASE_SECONDS": 5000}, "POLL_LEASE_SECONDS is 5000"),
    ({"POLL_LEASE_SECONDS": 10}, "does not outlast the slowest poll round"),
    ({"NAVTALK_READ_TIMEOUT": 1000}, "slowest poll round"),
    ({"RECONCILE_INTERVAL_SECONDS": 4000}, "RECONCILE_INTERVAL_SECONDS"),
    ({"BROKER_VISIBILITY_TIMEOUT": 60, "CELERY_BROKER_TRANSPORT_OPTIONS": {}}, "submit backoff"),
    ({"CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 300}}, "archive retry delay"),
])
def test_it_reports_a_setting_that_breaks_the_visibility_timeout(settings, override, words):
    for name, value in override.items():
        setattr(settings, name, value)
    problems = visibility_problems()
    assert any(words in p for p in problems), problems
    errors = check_broker_timings()
    assert errors and {e.id for e in errors} == {"jobs.E001"}
    with pytest.raises(SystemCheckError, match="jobs.E001"):
        call_command("check", tags=["compatibility"])  # as `manage.py check` reports it


def test_a_short_visibility_timeout_flags_every_countdown(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 30}
    text = "\n".join(visibility_problems())
    for name in ("submit backoff", "archive retry delay", "POLL_LEASE_SECONDS", "CELERY_TASK_TIME_LIMIT"):
        assert name in text


def test_every_failure_category_has_plain_words_and_a_hint():
    for category in Job.Category:
        assert category.label.strip(), category
        assert HINTS.get(category.value, "").strip(), f"no hint for {category.value}"
        assert hint_for(category.value) == HINTS[category.value]
    assert "frontal" in hint_for("face_not_found") and "well lit" in hint_for("face_not_found")
