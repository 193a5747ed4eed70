"""What each role may do in its team: the one permission layer.

Every view and action asks here, by a named action, never by role name:

- `allowed(role, action, user=…, job=…)`: the rule itself (also used by templates to
  hide what a person may not do, and later by the API).
- `@permission_required(action)`: a view decorator (logged in, with a current team,
  and allowed); it puts `request.team`, `request.membership` and `request.role` on the
  request, and answers 403 in plain words when the role may not.
- `require(request, action, job=…)`: the same check inside a view, for actions on one
  job (a creator acts only on their own jobs; owners and admins on everyone's).

Owner and admin may do the same things; the difference is that a team always keeps at
least one owner (`accounts.members`) and only an owner makes or unmakes owners.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied

from .decorators import team_required
from .models import Membership

Role = Membership.Role

CREATE_JOB, RETRY_JOB, CANCEL_JOB, EDIT_JOB = "create_job", "retry_job", "cancel_job", "edit_job"
DOWNLOAD, VIEW = "download", "view"
MANAGE_MEMBERS, MANAGE_KEYS, MANAGE_QUOTAS = "manage_members", "manage_keys", "manage_quotas"
VIEW_USAGE, VIEW_AUDIT = "view_usage", "view_audit"
APPROVE_JOB = "approve_job"  # approve or reject a job awaiting approval (jobs.approvals)

ACTIONS = (CREATE_JOB, RETRY_JOB, CANCEL_JOB, EDIT_JOB, DOWNLOAD, VIEW, MANAGE_MEMBERS, MANAGE_KEYS,
           MANAGE_QUOTAS, VIEW_USAGE, VIEW_AUDIT, APPROVE_JOB)
# Actions on one job that a creator may take on their own jobs only.
OWN_JOB_ACTIONS = frozenset({RETRY_JOB, CANCEL_JOB, EDIT_JOB})
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})

_CREATOR = frozenset({CREATE_JOB, RETRY_JOB, CANCEL_JOB, EDIT_JOB, DOWNLOAD, VIEW})
_VIEWER = frozenset({DOWNLOAD, VIEW})
ROLE_ACTIONS = {Role.OWNER: frozenset(ACTIONS), Role.ADMIN: frozenset(ACTIONS), Role.CREATOR: _CREATOR,
                Role.VIEWER: _VIEWER}

# Said on the 403 page, in words for the person who was refused.
REFUSALS = {
    CREATE_JOB: "Your role in this team lets you watch and download videos, not make them. "
                "Ask a team admin to make you a creator.",
    RETRY_JOB: "Only the person who made this video, or a team admin, can retry it.",
    CANCEL_JOB: "Only the person who made this video, or a team admin, can cancel it.",
    EDIT_JOB: "Only the person who made this video, or a team admin, can change it.",
    MANAGE_MEMBERS: "Only the team's owners and admins can manage its members.",
    MANAGE_KEYS: "Only the team's owners and admins can manage its license keys.",
    MANAGE_QUOTAS: "Only the team's owners and admins can change its quotas.",
    VIEW_USAGE: "Only the team's owners and admins can see its usage.",
    VIEW_AUDIT: "Only the team's owners and admins can see its audit trail.",
    APPROVE_JOB: "Only the team's owners and admins can approve or reject videos.",
}


def allowed(role: str | None, action: str, *, user=None, job=None) -> bool:
    """May a member with `role` take `action` (on `job`, when it concerns one job)?"""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if action not in ROLE_ACTIONS.get(role, ()):
        return False
    if job is not None and action in OWN_JOB_ACTIONS and role not in MANAGERS:
        return user is not None and job.created_by_id == user.pk
    return True


def require(request, action: str, *, job=None) -> None:
    """Raise PermissionDenied (a plain-words 403) unless the current role may."""
    if not allowed(getattr(request, "role", None), action, user=request.user, job=job):
        raise PermissionDenied(REFUSALS.get(action, "Your role in this team does not allow this."))


def permission_required(action: str):
    """View decorator: logged in, in a team, and allowed to take `action`."""

    def decorate(view):
        @team_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            require(request, action)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


class RoleActions:
    """Templates' view of the current role: `{% if can.create_job %}`, `{{ can.role }}`.
    Lazy: the membership is looked up only when a template asks."""

    def __init__(self, request):
        self._request = request

    @property
    def role(self) -> str | None:
        membership = getattr(self._request, "membership", None)
        return membership.role if membership else None

    def __getattr__(self, action: str) -> bool:
        if action not in ACTIONS:
            raise AttributeError(action)
        return allowed(self.role, action)
