from django.core.management.base import BaseCommand

from accounts import audit


class Command(BaseCommand):
    help = "Remove audit-trail events older than AUDIT_RETENTION_DAYS (beat also runs this daily)."

    def handle(self, *args, **options):
        self.stdout.write(f"Removed {audit.prune()} audit event(s).")
