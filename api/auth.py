"""Who is calling the API: a personal access token (`Authorization: Bearer ntp_…`).

The token names the person and the team; every call acts as that person in that team,
with their role (accounts.permissions) and the token's scope
(read: GET only; write: everything). Each token has its own rate limit
(API_RATE_PER_TOKEN). A token of a person who left the team stops working.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from accounts import permissions as perms
from accounts.models import Membership

from .models import ApiToken

log = logging.getLogger(__name__)
LAST_USED_EVERY = timedelta(minutes=1)  # write last_used_at at most this often


def refusal(membership, action: str, job=None) -> str | None:
    """Why this member may not take `action` (on `job`) by their role, or None when they may
    (accounts.permissions, the one permission layer the pages use too)."""
    if perms.allowed(getattr(membership, "role", None), action, user=membership.user, job=job):
        return None
    return perms.REFUSALS.get(action, "Your role in this team does not allow this.")


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as: Authorization: Bearer ntp_…")
        token = ApiToken.find(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("This token is unknown, revoked or expired. Make a new one on "
                                                  "the portal's API tokens page.")
        membership = Membership.objects.select_related("team", "user").filter(user=token.user,
                                                                              team=token.team).first()
        if membership is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's owner is no longer a member of its team.")
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        request.team, request.membership = token.team, membership
        log.info("api: %s %s by %s (token %s, team %s)", request.method, request.path, token.user.get_username(),
                 token.display, token.team_id)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class TokenScope(permissions.BasePermission):
    message = "This token is read-only; make a token with the read and write scope to change anything."

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return False
        return request.method in permissions.SAFE_METHODS or token.scope == ApiToken.Scope.WRITE


class TokenRateThrottle(throttling.SimpleRateThrottle):
    scope = "token"

    def get_rate(self):
        return settings.API_RATE_PER_TOKEN  # read per call, so a changed setting applies at once

    def get_cache_key(self, request, view):
        token = request.auth
        return self.cache_format % {"scope": self.scope, "ident": token.pk} if isinstance(token, ApiToken) else None


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.TokenAuthentication"
    name = "PersonalAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "ntp_<prefix>_<secret>"}
