"""First-run set-up for `make run`: an admin, a team, and the local engine's license.

Idempotent: run it at every start. It creates the first admin only when no superuser
exists. That first login is kept in VAR_DIR/first-login (readable by its owner only,
never in a log) until the password is changed, so `manage.py bootstrap --show-login`
(and `make run`'s "ready" line) can say it again; after a change the file is removed.
"""

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Team
from keys.models import LicenseKey
from keys.selection import assign_key, key_for_team

LOCAL_KEY_NAME = "Local engine"


class Command(BaseCommand):
    help = "Create the first admin, a default team and the local engine's license key if missing."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--team", default="Studio")
        parser.add_argument("--show-login", action="store_true",
                            help="Print the first admin's login while its password is unchanged, and do nothing else.")

    def handle(self, *args, username, team, show_login, **options):
        if show_login:
            self.stdout.write(login_text())
            return
        self.set_up(username, team)

    @transaction.atomic
    def set_up(self, username, team):
        User = get_user_model()
        password = None
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(username=username, email="", password=password)

        key = LicenseKey.objects.filter(name=LOCAL_KEY_NAME).first()
        if key is None:
            key = LicenseKey(name=LOCAL_KEY_NAME, notes="The embedded local engine (engine/). Created by bootstrap.")
        key.generate_url = settings.ENGINE_BASE_URL + "/generate"
        key.query_status_url = settings.ENGINE_BASE_URL + "/query_status"
        key.secret = settings.ENGINE_LICENSES[0]
        key.save()

        studio, _ = Team.objects.get_or_create(name=team)
        if key_for_team(studio) is None:
            assign_key(studio, key)
        # The first admin owns the first team (manages its members, keys and quotas in the portal).
        Membership.objects.get_or_create(team=studio, user=admin, defaults={"role": Membership.Role.OWNER})

        if password:
            _write_first_login(admin.get_username(), password)
            self.stdout.write(f"Set up the first admin ({admin.get_username()}), team {studio.name} and the local "
                              "engine's key. The login is shown once the portal answers.")


def first_login_path() -> Path:
    return Path(settings.VAR_DIR) / "first-login"


def _write_first_login(username: str, password: str) -> None:
    path = first_login_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"username": username, "password": password}, out)


def login_text() -> str:
    """The first admin's login while its password is unchanged; else how to reset it."""
    path = first_login_path()
    try:
        saved = json.loads(path.read_text())
        username, password = saved["username"], saved["password"]
    except (OSError, ValueError, KeyError, TypeError):
        return "No first login is kept here (set up earlier, or already changed). Reset a password with " \
               "`manage.py changepassword <username>`."
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.check_password(password):
        path.unlink(missing_ok=True)
        return f"The first admin's password was changed, so it is no longer kept. Forgot it? " \
               f"`manage.py changepassword {username}`."
    return f"Log in as:  {username}  /  {password}\n  (change it in the admin; until then " \
           "`manage.py bootstrap --show-login` shows it again)"
