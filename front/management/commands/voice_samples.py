"""Render the 11 voice samples the create page plays (jobs.voices), if missing."""

from django.core.management.base import BaseCommand

from front import voices
from navtalk.contract import VOICES


class Command(BaseCommand):
    help = "Render the voice samples (MEDIA_ROOT/voices/<name>.wav) that do not exist yet."

    def handle(self, *args, **options):
        made = voices.render_all()
        self.stdout.write(f"Voice samples: rendered {len(made)}, {len(VOICES) - len(made)} were ready.")
