"""Login throttling with lockout (django-axes) on /login/ and /admin/login/."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _login(client, path, username, password):
    return client.post(path, {"username": username, "password": password})


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_too_many_wrong_passwords_lock_that_name_from_that_address(alice, django_user_model, settings, path):
    settings.AXES_FAILURE_LIMIT = 3
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = Client()
    for _ in range(2):
        assert _login(client, path, "alice", "wrong").status_code == 200  # the form again, with its error
    locked = _login(client, path, "alice", "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Locked: even the right password is refused now, on either login page.
    assert _login(client, path, "alice", "pw-alice-123!").status_code == 429
    assert _login(Client(), "/login/", "alice", "pw-alice-123!").status_code == 429
    # Another person behind the same address is not locked out.
    django_user_model.objects.create_user("dave", password="pw-dave-123!")
    assert _login(Client(), "/login/", "dave", "pw-dave-123!").status_code == 302
    # Nor is alice from another address.
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    assert _login(elsewhere, path, "alice", "pw-alice-123!").status_code == 302


def test_a_successful_login_resets_the_count(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        _login(client, "/login/", "alice", "wrong")
    assert _login(client, "/login/", "alice", "pw-alice-123!").status_code == 302
    client.logout()
    for _ in range(2):
        assert _login(client, "/login/", "alice", "wrong").status_code == 200
