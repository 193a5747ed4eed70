"""Who may use the portal: teams, their members, and each person's preferences.

The base of the house: this app imports no other app of the portal. License keys
(`keys`) and jobs (`jobs`) point at a Team; a Team knows nothing of them.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} in {self.team}"


class Profile(models.Model):
    """Per-person portal preferences: notification state and email opt-in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile")
    notifications_seen_at = models.DateTimeField(default=timezone.now)
    email_on_done = models.BooleanField(default=False, help_text="Email me when my video is ready.")
    email_on_failed = models.BooleanField(default=False, help_text="Email me when my video failed.")

    def __str__(self):
        return f"Profile of {self.user}"
