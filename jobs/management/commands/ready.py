"""`make run`'s last word: wait until the portal answers, then say so, with the first
login, once everything else has printed its start-up lines. Then stay quietly alive
(honcho stops every process when one exits)."""

import signal
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from .bootstrap import login_text


class Command(BaseCommand):
    help = "Wait for the portal to answer /healthz, then print where it is and how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="Default: PUBLIC_BASE_URL")
        parser.add_argument("--timeout", type=float, default=180.0)
        parser.add_argument("--stay", action="store_true", help="Keep running after the message (for honcho).")

    def handle(self, *args, url, timeout, stay, **options):
        base = (url or settings.PUBLIC_BASE_URL).rstrip("/")
        deadline = time.monotonic() + timeout
        while not _answers(base + "/healthz"):
            if time.monotonic() > deadline:
                raise CommandError(f"The portal did not answer at {base}/healthz within {timeout:.0f} s.")
            time.sleep(0.5)
        self.stdout.write(self.style.SUCCESS(f"\n  NavTalk Portal is ready at {base}/\n  {login_text()}\n"))
        self.stdout.flush()
        if stay:
            signal.signal(signal.SIGTERM, lambda *_: exit(0))
            while True:
                time.sleep(3600)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
