"""The team's audit trail (owners and admins): filter by action, person and dates, and
export what the filter shows as CSV. Read-only; staff see every team's in the admin."""

import csv
import datetime as dt

from django import forms
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts import permissions as perms
from accounts.audit import ACTIONS
from accounts.models import AuditEvent
from accounts.permissions import permission_required

PAGE = 200
CSV_MAX = 100_000


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(choices=[("", "Any")] + sorted(ACTIONS.items(), key=lambda a: a[1]), required=False)
    person = forms.CharField(required=False, max_length=150, label="Person (user name)")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "“To” is before “From”.")
        return data


def _events(team, form):
    events = AuditEvent.objects.filter(team=team)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["person"]:
            events = events.filter(actor_name=data["person"])
        tz = timezone.get_current_timezone()
        if data["since"]:
            events = events.filter(created_at__gte=dt.datetime.combine(data["since"], dt.time.min, tz))
        if data["until"]:
            events = events.filter(created_at__lt=dt.datetime.combine(data["until"], dt.time.min, tz)
                                   + dt.timedelta(days=1))
    return events.order_by("-created_at", "-id")


class _Echo:
    def write(self, value):
        return value


def _csv(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(["time", "person", "action", "target", "address", "detail"])
    for event in events[:CSV_MAX].iterator(chunk_size=2000):
        # A leading =, +, - or @ would be a formula in a spreadsheet: quote it as text.
        cells = [event.created_at.isoformat(), event.actor_name, event.action, event.target, event.ip or "",
                 str(event.detail)]
        yield writer.writerow(["'" + c if c[:1] in "=+-@" else c for c in cells])


@permission_required(perms.VIEW_AUDIT)
def audit_page(request):
    form = AuditFilterForm(request.GET or None)
    events = _events(request.team, form)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(_csv(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response
    shown = list(events[:PAGE])
    for event in shown:
        event.label = ACTIONS.get(event.action, event.action)
    return render(request, "team/audit.html", {"form": form, "events": shown, "page_size": PAGE})
