"""The team's Webhooks page (owners and admins): add a receiver (its signing secret shown
once), see each one's delivery log with the receiver's answers, send a test event,
enable or disable it, delete it."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import permissions as perms
from accounts.permissions import permission_required
from automation import webhooks
from automation.models import WebhookEndpoint
from lib.addresses import link_problem, parse_origins

from .job_inputs import http_url

MANAGE = perms.MANAGE_MEMBERS  # owners and admins: a webhook sends the team's jobs elsewhere


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label="Receiver's address", widget=forms.URLInput(
        attrs={"placeholder": "https://example.com/hooks/navtalk"}),
        error_messages={"required": "Enter the address that should receive the events."})
    description = forms.CharField(max_length=200, required=False, label="What it is for (optional)")

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        try:
            http_url(url)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        problem = link_problem(url, parse_origins(settings.WEBHOOK_ALLOWED_PRIVATE))
        if problem:
            raise ValidationError(problem)
        return url


def _endpoint(request, pk) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(pk=int(pk), team=request.team)
    except (ValueError, WebhookEndpoint.DoesNotExist):
        raise Http404("No such webhook in your team.") from None


@never_cache
@permission_required(MANAGE)
def webhooks_page(request):
    form, new_secret = EndpointForm(request.POST or None), None
    if request.method == "POST" and form.is_valid():
        endpoint = WebhookEndpoint(team=request.team, created_by=request.user, url=form.cleaned_data["url"],
                                   description=form.cleaned_data["description"])
        new_secret = endpoint.secret = webhooks.new_secret()
        endpoint.save()
        form = EndpointForm()
    endpoints = list(WebhookEndpoint.objects.filter(team=request.team))
    for endpoint in endpoints:
        endpoint.log = list(endpoint.deliveries.all()[:20])
    return render(request, "jobs/webhooks.html", {"form": form, "new_secret": new_secret, "endpoints": endpoints})


@require_POST
@permission_required(MANAGE)
def action(request, pk, what):
    endpoint = _endpoint(request, pk)
    if what == "test":
        webhooks.send_test(endpoint, request.user)
        messages.success(request, "Test event sent. Its result appears in the delivery log in a few seconds.")
    elif what == "enable":
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=True, disabled_at=None, disabled_reason="",
                                                              consecutive_failures=0)
        messages.success(request, "Webhook enabled: events of jobs that end from now on are sent.")
    elif what == "disable":
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="Disabled by "
                                                              + request.user.get_username())
        messages.success(request, "Webhook disabled.")
    elif what == "delete":
        endpoint.delete()
        messages.success(request, "Webhook deleted.")
    else:
        raise Http404("No such action.")
    return redirect("jobs:webhooks")
