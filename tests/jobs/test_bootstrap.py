"""`make run`'s start-up: the first login is said once the portal answers, and stays
retrievable until its password is changed; routine Celery lines stay out of INFO."""

import logging
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from jobs.management.commands.bootstrap import first_login_path
from navtalk_portal.celery import RoutineLinesAtDebug


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_the_first_login_is_kept_until_the_password_changes(var_dir, capsys):
    call_command("bootstrap")
    out = capsys.readouterr().out
    assert "Set up the first admin (admin)" in out and "password" not in out.lower()
    path = first_login_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    call_command("bootstrap", "--show-login")
    shown = capsys.readouterr().out
    password = shown.split("admin  /  ", 1)[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)

    call_command("bootstrap")  # a second start creates nobody and keeps the login
    assert "Set up" not in capsys.readouterr().out and path.exists()

    admin = get_user_model().objects.get(username="admin")
    admin.set_password("a-new-password-1234")
    admin.save()
    call_command("bootstrap", "--show-login")
    assert "was changed" in capsys.readouterr().out and not path.exists()


@pytest.mark.django_db(transaction=True)
def test_ready_waits_for_the_portal_then_says_where_and_how_to_log_in(var_dir, live_server, capsys):
    call_command("bootstrap")
    capsys.readouterr()
    call_command("ready", url=live_server.url, timeout=10)
    out = capsys.readouterr().out
    assert f"NavTalk Portal is ready at {live_server.url}/" in out and "Log in as:  admin  /  " in out


def test_ready_says_so_when_the_portal_never_answers(var_dir):
    with pytest.raises(CommandError, match="did not answer"):
        call_command("ready", url="http://127.0.0.1:9", timeout=1)


@pytest.mark.parametrize("message, args, routine", [
    ("Task %(name)s[%(id)s] received", {"name": "jobs.tasks.poll_due_jobs", "id": "1"}, True),
    ("Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
     {"name": "jobs.tasks.poll_due_jobs", "id": "1", "runtime": 0.01, "return_value": 3}, True),
    ("Scheduler: Sending due task %s (%s)", ("poll-due-jobs", "jobs.tasks.poll_due_jobs"), True),
    ("beat: Starting...", (), False),
    ("Connected to %s", ("redis://",), False),
])
def test_routine_celery_lines_pass_only_at_debug(message, args, routine):
    record = logging.LogRecord("celery.app.trace", logging.INFO, __file__, 1, message, args, None)
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.INFO)
        assert RoutineLinesAtDebug().filter(record) is (not routine)
        root.setLevel(logging.DEBUG)
        assert RoutineLinesAtDebug().filter(record) is True
    finally:
        root.setLevel(level)


def test_celery_task_logs_brings_the_routine_lines_back_at_info(settings):
    settings.CELERY_TASK_LOGS = True
    record = logging.LogRecord("celery.app.trace", logging.INFO, __file__, 1, "Task %(name)s[%(id)s] received",
                               {"name": "jobs.tasks.poll_due_jobs", "id": "1"}, None)
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.INFO)
        assert RoutineLinesAtDebug().filter(record) is True
    finally:
        root.setLevel(level)
