"""Who may open a page. `team_required` puts the person's current team on `request.team`
and their membership on `request.membership` (plain objects; the role is also on
`request.role`) or shows the no-team page. What a role may do is `accounts.permissions`."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.functional import LazyObject, empty


def _unwrap(obj):
    if isinstance(obj, LazyObject):
        if obj._wrapped is empty:
            obj._setup()
        return obj._wrapped
    return obj


def team_required(view):
    """Logged in, with a current team (set as a plain object on `request.team`)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        team = _unwrap(getattr(request, "team", None))
        if team is None:
            return render(request, "jobs/no_team.html")
        request.team = team
        request.membership = _unwrap(getattr(request, "membership", None))
        request.role = request.membership.role if request.membership is not None else None
        return view(request, *args, **kwargs)

    return wrapper
