"""First-run set-up for `make run`: an admin, a team, and the local engine's license.

Idempotent: run it at every start. It creates the first admin only when no superuser
exists, and prints that login once. The password goes to the terminal of the person
who ran `make run`, never to a log file.
"""

import secrets

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

    @transaction.atomic
    def handle(self, *args, username, team, **options):
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
        Membership.objects.get_or_create(team=studio, user=admin)

        url = settings.PUBLIC_BASE_URL + "/"
        if password:
            self.stdout.write(self.style.SUCCESS(
                f"\n  NavTalk Portal is ready at {url}\n  Log in as:  {admin.get_username()}  /  {password}\n"
                "  (shown once; change it in the admin, or run `manage.py changepassword`)\n"))
        else:
            self.stdout.write(f"\n  NavTalk Portal is ready at {url} (admin: {admin.get_username()})\n")
