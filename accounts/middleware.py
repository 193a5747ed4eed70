"""Puts the person's current team on the request (`request.team`).

A person may belong to several teams; the current one is kept in the session and
switched from the header. Staff without a membership see no team (they use the admin).
"""

from django.utils.functional import SimpleLazyObject

SESSION_KEY = "current_team_id"


def current_team(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    teams = user.teams.all()
    team_id = request.session.get(SESSION_KEY)
    team = teams.filter(pk=team_id).first() if team_id else None
    if team is None:
        team = teams.order_by("name").first()
        if team is not None:
            request.session[SESSION_KEY] = team.pk
    return team


class CurrentTeamMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.team = SimpleLazyObject(lambda: current_team(request))
        return self.get_response(request)
