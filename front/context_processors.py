from functools import cache

from accounts.permissions import RoleActions
from jobs import approvals, notifications


def portal(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def unseen_count():  # one query, only on pages whose template asks for it
        team = request.team
        return notifications.unseen_count(user, team) if team else 0

    @cache
    def awaiting_approval_count():  # one query, asked by base.html for owners and admins only
        team = request.team
        return approvals.waiting_count(team, cap=notifications.HEADER_CAP + 1) if team else 0

    return {"current_team": request.team, "user_teams": user.teams.all(), "unseen_count": unseen_count,
            "awaiting_approval_count": awaiting_approval_count, "can": RoleActions(request)}
