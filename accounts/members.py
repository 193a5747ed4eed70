"""Changing who is in a team and with which role: the only code that does.

Rules (each refusal is a `MemberChangeRefused` whose message is said to the person):
- only owners and admins manage members (the views ask `accounts.permissions` first);
- only an owner makes someone an owner, or changes or removes an owner;
- a team always keeps at least one owner: the last one cannot be demoted or removed.
Changes run under a lock on the team's row, so two admins demoting the last two owners
at once cannot leave the team with none.

Invitations are links with a random token (only its SHA-256 is stored), a role and an
expiry; accepting one (logged in) creates the membership and uses the link up, by a
conditional UPDATE, so a link works once even when opened twice at the same moment.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format

from . import audit
from .models import Invitation, Membership, Team

Role = Membership.Role
INVITATION_DAYS = (1, 7, 30)


class MemberChangeRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _lock(team) -> None:
    list(Team.objects.select_for_update().filter(pk=team.pk).values_list("pk"))


def _guard(actor: Membership, target: Membership, new_role: str | None) -> None:
    """Refuse what the rules above forbid (`new_role` None: removal)."""
    if Role.OWNER in (target.role, new_role) and actor.role != Role.OWNER:
        raise MemberChangeRefused("Only an owner can make someone an owner, or change or remove an owner.")
    if target.role == Role.OWNER and new_role != Role.OWNER:
        owners = Membership.objects.filter(team_id=target.team_id, role=Role.OWNER).count()
        if owners <= 1:
            raise MemberChangeRefused(f"{target.user.get_username()} is the team's only owner. Make someone else "
                                      "an owner first; a team always keeps at least one.")


def change_role(actor: Membership, membership_id: int, role: str) -> Membership:
    if role not in Role.values:
        raise MemberChangeRefused("Choose one of the roles in the list.")
    with transaction.atomic():
        _lock(actor.team)
        target = _member(actor, membership_id)
        _guard(actor, target, role)
        Membership.objects.filter(pk=target.pk).update(role=role)
        audit.record("role_changed", actor=actor.user, team=actor.team_id, target=target.user.get_username(),
                     before=target.role, after=role)
        target.role = role
    return target


def remove_member(actor: Membership, membership_id: int) -> Membership:
    with transaction.atomic():
        _lock(actor.team)
        target = _member(actor, membership_id)
        _guard(actor, target, None)
        target.delete()
        audit.record("member_removed", actor=actor.user, team=actor.team_id, target=target.user.get_username(),
                     role=target.role)
    return target


def _member(actor: Membership, membership_id: int) -> Membership:
    target = (Membership.objects.select_related("user")
              .filter(team_id=actor.team_id, pk=membership_id).first())
    if target is None:
        raise MemberChangeRefused("That person is no longer a member of this team.")
    return target


# --- invitations -------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_invitation(actor: Membership, *, role: str, days: int, email: str = "") -> tuple[Invitation, str]:
    """A new invitation and its token (shown once; only the hash is kept)."""
    if role not in Role.values:
        raise MemberChangeRefused("Choose one of the roles in the list.")
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise MemberChangeRefused("Only an owner can invite a new owner.")
    if days not in INVITATION_DAYS:
        raise MemberChangeRefused("Choose how long the link works from the list.")
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    invitation = Invitation.objects.create(team_id=actor.team_id, role=role, token_hash=token_hash(token),
                                           email=email, created_by=actor.user, created_at=now,
                                           expires_at=now + timedelta(days=days))
    audit.record("member_invited", actor=actor.user, team=actor.team_id, target=email or f"link #{invitation.pk}",
                 role=role, days=days)
    return invitation, token


def pending_invitations(team):
    return Invitation.objects.filter(team=team, used_at__isnull=True, revoked_at__isnull=True,
                                     expires_at__gt=timezone.now()).select_related("created_by")


def revoke_invitation(actor: Membership, invitation_id: int) -> bool:
    done = Invitation.objects.filter(team_id=actor.team_id, pk=invitation_id, used_at__isnull=True,
                                     revoked_at__isnull=True).update(revoked_at=timezone.now()) == 1
    if done:
        audit.record("invitation_withdrawn", actor=actor.user, team=actor.team_id, target=f"link #{invitation_id}")
    return done


def invitation_for(token: str) -> Invitation:
    """The invitation behind a link, or MemberChangeRefused saying (plainly) why not."""
    invitation = Invitation.objects.select_related("team").filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise MemberChangeRefused("This invitation link is not valid. Check that you copied all of it, or ask "
                                  "the team's admin for a new one.")
    if invitation.revoked_at is not None:
        raise MemberChangeRefused("This invitation was withdrawn by the team's admin. Ask them for a new one.")
    if invitation.used_at is not None:
        raise MemberChangeRefused("This invitation link has already been used. Each link works once; ask the "
                                  "team's admin for a new one.")
    if invitation.expires_at <= timezone.now():
        raise MemberChangeRefused(f"This invitation link expired on {date_format(invitation.expires_at, 'j F Y')}. "
                                  "Ask the team's admin for a new one.")
    return invitation


def accept_invitation(token: str, user) -> Membership:
    """Join the invitation's team with its role; the link is then used up."""
    invitation = invitation_for(token)
    if Membership.objects.filter(team_id=invitation.team_id, user=user).exists():
        raise MemberChangeRefused(f"You are already a member of {invitation.team.name}; the link is left unused "
                                  "for the person it was meant for.")
    now = timezone.now()
    with transaction.atomic():
        used = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True,
                                         expires_at__gt=now).update(used_at=now, used_by=user)
        if used != 1:
            invitation_for(token)  # says why (used, withdrawn or expired in the meantime)
            raise MemberChangeRefused("This invitation link can no longer be used.")
        try:
            with transaction.atomic():
                membership = Membership.objects.create(team_id=invitation.team_id, user=user, role=invitation.role)
                audit.record("member_added", actor=user, team=invitation.team_id, target=user.get_username(),
                             role=invitation.role, invitation=invitation.pk)
                return membership
        except IntegrityError:
            raise MemberChangeRefused(f"You are already a member of {invitation.team.name}.") from None
