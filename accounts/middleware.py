"""Puts the person's current team on the request (`request.team`), and their membership
of it (`request.membership`, which carries the role).

A person may belong to several teams; the current one is kept in the session and
switched from the header. Staff without a membership see no team (they use the admin).
Both come from one query, made only when something asks.
"""

from django.utils.functional import SimpleLazyObject

from . import audit
from .models import Membership

SESSION_KEY = "current_team_id"


def current_membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("team").filter(user=user)
    team_id = request.session.get(SESSION_KEY)
    membership = memberships.filter(team_id=team_id).first() if team_id else None
    if membership is None:
        membership = memberships.order_by("team__name").first()
        if membership is not None:
            request.session[SESSION_KEY] = membership.team_id
    return membership


def current_team(request):
    membership = current_membership(request)
    return membership.team if membership else None


class CurrentTeamMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = []

        def membership():
            if not found:
                found.append(current_membership(request))
            return found[0]

        request.membership = SimpleLazyObject(membership)
        request.team = SimpleLazyObject(lambda: membership().team if membership() else None)
        token = audit.current_ip.set(audit.client_ip(request))  # the audit trail's "from where"
        try:
            return self.get_response(request)
        finally:
            audit.current_ip.reset(token)
