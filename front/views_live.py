"""Live status for lists: one request refreshes every in-flight job on a page.

History rows and gallery placeholders carry `data-live-job="<code>"`; portal.js asks
`/jobs/live/?view=history&job=<code>&job=<code>…` every few seconds while any of them is
in flight (paused while the tab is hidden) and swaps each returned fragment in place.
The fragments are the very partials the pages render, so the page looks the same
reloaded or live, and works without JavaScript.
"""

import uuid

from django.shortcuts import render

from accounts import permissions as perms
from accounts.permissions import permission_required
from jobs import selectors

MAX_CODES = 100
TEMPLATES = {"history": "jobs/partials/history_status.html", "gallery": "jobs/partials/gallery_item.html"}


def _codes(values) -> list[uuid.UUID]:
    codes = []
    for value in values[:MAX_CODES]:
        try:
            codes.append(uuid.UUID(value))
        except ValueError:
            continue
    return codes


@permission_required(perms.VIEW)
def live(request):
    view = request.GET.get("view")
    template = TEMPLATES.get(view, TEMPLATES["history"])
    codes = _codes(request.GET.getlist("job"))
    jobs = list(selectors.jobs_by_codes(request.team, codes)) if codes else []
    response = render(request, "jobs/partials/live.html", {"jobs": jobs, "fragment": template})
    response["Cache-Control"] = "no-store"
    return response
