"""Fetch from the engine the 11 voice samples the create page plays (front.voices), if missing.
The engine must be running (ENGINE_BASE_URL); otherwise each is fetched on first play."""

from django.core.management.base import BaseCommand

from front import voices
from navtalk.contract import VOICES


class Command(BaseCommand):
    help = "Fetch the voice samples (voices/<name>.wav in media storage) that do not exist yet."

    def handle(self, *args, **options):
        made = voices.fetch_all()
        self.stdout.write(f"Voice samples: fetched {len(made)}, {len(VOICES) - len(made)} were ready.")
