"""Re-encrypt every stored license secret with the first of LICENSE_ENCRYPTION_KEYS.

Rotation: put the new key first in LICENSE_ENCRYPTION_KEYS (keep the old ones after it),
deploy, run this command, then the old keys can be removed.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from keys import crypto
from keys.models import LicenseKey


class Command(BaseCommand):
    help = "Re-encrypt every license key secret with the first key of LICENSE_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            for pk, name, token in LicenseKey.objects.select_for_update().values_list("pk", "name", "secret_encrypted"):
                try:
                    rotated = crypto.rotate(token)
                except InvalidToken:
                    raise CommandError(
                        f"License key {name!r} (id {pk}) cannot be decrypted with any key in "
                        "LICENSE_ENCRYPTION_KEYS; nothing was changed.") from None
                LicenseKey.objects.filter(pk=pk).update(secret_encrypted=rotated)
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} license key(s)."))
