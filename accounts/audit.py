"""The audit trail: who did what, when and from where (`AuditEvent`, append-only).

`record(action, actor=…, team=…, target=…, **detail)` is called by the code that does the
thing: logins and failed logins (Django's auth signals, connected in accounts.apps),
members and invitations (accounts.members), quotas (the Team page), keys (keys.admin),
jobs (jobs.services, the download view) and every change saved in the admin (its
LogEntry, connected here). The address comes from the request being served
(`CurrentTeamMiddleware` sets it), so callers never pass it. Never a secret: callers
name keys by name only. `prune()` removes events older than AUDIT_RETENTION_DAYS
(the beat task `accounts.tasks.prune_audit`, or `manage.py prune_audit`).
"""

import contextvars
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import AuditEvent

log = logging.getLogger(__name__)
current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_ip", default=None)

ACTIONS = {
    "login": "Logged in", "login_failed": "Failed login",
    "member_invited": "Member invited", "member_added": "Member added", "member_removed": "Member removed",
    "role_changed": "Role changed", "invitation_withdrawn": "Invitation withdrawn",
    "quota_changed": "Quota changed", "approval_settings_changed": "Approval rules changed",
    "job_approved": "Video approved", "job_rejected": "Video not approved",
    "key_created": "Key created", "key_rotated": "Key secret replaced", "key_disabled": "Key disabled",
    "key_enabled": "Key enabled", "key_tested": "Key tested",
    "job_created": "Video created", "job_retried": "Video retried", "job_canceled": "Video canceled",
    "job_downloaded": "Video downloaded", "job_deleted": "Video deleted",
    "admin_change": "Changed in the admin",
}


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def record(action: str, *, actor=None, team=None, target: str = "", actor_name: str = "", **detail) -> AuditEvent:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    name = actor_name or (actor.get_username() if actor is not None and actor.is_authenticated else "")
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(action=action, actor_id=actor_id, actor_name=name[:150],
                                     team_id=getattr(team, "pk", team), target=str(target)[:200],
                                     ip=current_ip.get(), detail=detail)


def prune(now=None) -> int:
    """Remove events older than AUDIT_RETENTION_DAYS (0: keep everything)."""
    days = settings.AUDIT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    removed = AuditEvent.objects.filter(created_at__lt=cutoff)._prune()
    if removed:
        log.info("audit trail: %d event(s) older than %d days removed", removed, days)
    return removed


# --- signal receivers (connected in accounts.apps.AccountsConfig.ready) ---------------


def on_login(sender, request, user, **kwargs):
    record("login", actor=user)


def on_login_failed(sender, credentials, request=None, **kwargs):
    # The name typed (never the password): the person it names may not exist.
    record("login_failed", actor_name=str(credentials.get("username", ""))[:150],
           target=request.path if request is not None else "")


def on_admin_log(sender, instance, created, **kwargs):
    """Every add/change/delete saved through the admin (Django's LogEntry)."""
    if not created:
        return
    kind = {1: "added", 2: "changed", 3: "deleted"}.get(instance.action_flag, "changed")
    model = instance.content_type.model if instance.content_type_id else ""
    action = "job_deleted" if model == "job" and kind == "deleted" else "admin_change"
    record(action, actor=instance.user, target=f"{model} {instance.object_repr}"[:200], what=kind,
           model=model, object_id=str(instance.object_id or ""), message=str(instance.get_change_message())[:500])
