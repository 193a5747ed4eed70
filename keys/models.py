"""License keys: the paid NavTalk licenses (or the local engine's) that teams use.

A key's secret is stored encrypted (`keys.crypto`) and never rendered: forms take it
write-only, everything else shows `masked`. A team uses its keys through `TeamKey`, in
order; `keys.selection` is the one place that picks the key for a new job.
"""

from django.conf import settings
from django.db import models

from lib.masking import mask

from . import crypto


class LicenseKey(models.Model):
    name = models.CharField(max_length=100)
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(max_length=16, editable=False, help_text="Masked form, e.g. sk-…a1b2")
    generate_url = models.URLField(default=settings.NAVTALK_GENERATE_URL)
    query_status_url = models.URLField(default=settings.NAVTALK_QUERY_STATUS_URL)
    is_active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    auth_failed_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the upstream last refused this license (auth). New jobs skip it for a while "
                  "(keys.selection); saving the key in the admin or a later success clears it.")
    monthly_budget_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds of video this license may make per calendar month, for all "
                                         "teams together (empty: no budget).")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.secret_hint})"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)
        self.secret_hint = mask(value)

    @property
    def masked(self) -> str:
        return self.secret_hint


class TeamKey(models.Model):
    """A key a team may use; the lowest `position` that is active is used first."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="team_keys")
    key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, related_name="team_keys")
    position = models.PositiveIntegerField(default=0, help_text="Keys are tried in this order, lowest first.")

    class Meta:
        ordering = ["team", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "key"], name="teamkey_unique")]

    def __str__(self):
        return f"{self.team} uses {self.key} (#{self.position})"
