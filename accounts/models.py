"""Who may use the portal: teams, their members, and each person's preferences.

The base of the house: this app imports no other app of the portal. License keys
(`keys`) and jobs (`jobs`) point at a Team; a Team knows nothing of them.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.Model):
    """A team. Its quotas (`jobs.quotas` enforces them; empty = no limit): a staff admin
    sets the ceilings (`max_…`, in the admin); the team's owners and admins set the team's
    caps and each member's caps on the Team page, never above a ceiling."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)
    max_jobs_per_day = models.PositiveIntegerField(
        null=True, blank=True, help_text="Ceiling (staff): the most videos the team's admins may allow per day.")
    max_video_seconds_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Ceiling (staff): the most seconds of video the team's admins may allow "
                                         "per month.")
    jobs_per_day = models.PositiveIntegerField(null=True, blank=True, help_text="Videos the team may make per day.")
    video_seconds_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds of video the team may make per month.")
    member_jobs_per_day = models.PositiveIntegerField(
        null=True, blank=True, help_text="Videos each member may make per day.")
    member_video_seconds_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds of video each member may make per month.")
    approval_over_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Videos longer than this (seconds of speech) wait for an owner's or "
                                         "admin's approval. Empty: no length needs approval.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A person in a team, with a role (what the role may do: `accounts.permissions`)."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        CREATOR = "creator", "Creator"
        VIEWER = "viewer", "Viewer"

    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CREATOR,
                            help_text="Owner/admin: manage members, keys and quotas. Creator: make videos, act on "
                                      "their own. Viewer: see and download the team's videos.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the team's owners and admins on the Team page (jobs.quotas, jobs.approvals).
    requires_approval = models.BooleanField(
        default=False, help_text="Every video this person makes waits for an owner's or admin's approval.")
    jobs_per_day = models.PositiveIntegerField(
        null=True, blank=True, help_text="Videos this person may make per day (empty: the team's default).")
    video_seconds_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds of video this person may make per month (empty: the team's "
                                         "default).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"


class Invitation(models.Model):
    """A link that makes whoever opens it (logged in) a member of `team` with `role`.

    Only a hash of the link's token is stored; the link is shown once to the admin who
    made it. It works once (`used_at` is set by a conditional UPDATE) and until `expires_at`.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.CREATOR)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(blank=True, help_text="Where the link was sent, if it was emailed.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation to {self.team} as {self.role}"


class Profile(models.Model):
    """Per-person portal preferences: notification state and email opt-in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile")
    notifications_seen_at = models.DateTimeField(default=timezone.now)
    email_on_done = models.BooleanField(default=False, help_text="Email me when my video is ready.")
    email_on_failed = models.BooleanField(default=False, help_text="Email me when my video failed.")

    def __str__(self):
        return f"Profile of {self.user}"


class AuditQuerySet(models.QuerySet):
    """Append-only for every code path; only `accounts.audit.prune` removes rows (past
    AUDIT_RETENTION_DAYS), through `_prune`."""

    def update(self, **kwargs):
        raise PermissionError("The audit trail cannot be changed.")

    def delete(self):
        raise PermissionError("The audit trail cannot be changed.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise PermissionError("The audit trail cannot be changed.")

    def _prune(self) -> int:
        return super().delete()[0]


class AuditEvent(models.Model):
    """Who did what, when, from where (`accounts.audit.record` writes it). The actor and
    team are kept as ids without a constraint (nothing cascades), and the actor's name
    as it was; never a secret."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                              null=True, blank=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    team = models.ForeignKey(Team, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                             related_name="+")
    target = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The team's audit page: WHERE team_id = … ORDER BY created_at DESC.
            models.Index(fields=["team", "-created_at"], name="audit_team_time"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The audit trail cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit trail cannot be changed.")
