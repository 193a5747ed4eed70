"""The portal's "API tokens" page: each person makes, sees and revokes their own tokens.
A new token's full text is shown once, on the page that made it, and never again (only
its SHA-256 is stored); the list shows its prefix, scope, expiry and last use."""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.decorators import team_required

from .models import ApiToken

EXPIRY_CHOICES = [("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year"), ("0", "Never")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="What it is for, e.g. “CRM welcome videos”.",
                           error_messages={"required": "Give the token a name, so you recognise it later."})
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.WRITE,
                              widget=forms.RadioSelect, label="What it may do")
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90", label="Expires")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        max_days = settings.API_TOKEN_MAX_DAYS
        if max_days:
            self.fields["expires"].choices = [(v, label) for v, label in EXPIRY_CHOICES if v != "0"
                                              and int(v) <= max_days] or [(str(max_days), f"In {max_days} days")]
            self.fields["expires"].initial = self.fields["expires"].choices[0][0]

    def expires_at(self):
        days = int(self.cleaned_data["expires"])
        return timezone.now() + dt.timedelta(days=days) if days else None


@never_cache
@team_required
def tokens(request):
    new_token = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        row, new_token = ApiToken.issue(user=request.user, team=request.team, name=form.cleaned_data["name"],
                                        scope=form.cleaned_data["scope"], expires_at=form.expires_at())
        form = TokenForm()
    mine = ApiToken.objects.filter(user=request.user).select_related("team")
    response = render(request, "api/tokens.html", {"form": form, "new_token": new_token, "tokens": mine,
                                                   "now": timezone.now()})
    return response


@require_POST
@team_required
def revoke(request, pk):
    updated = ApiToken.objects.filter(pk=pk, user=request.user, revoked_at=None).update(revoked_at=timezone.now())
    if not updated and not ApiToken.objects.filter(pk=pk, user=request.user).exists():
        raise Http404("No such token.")
    messages.success(request, "Token revoked. Scripts using it stop working now.")
    return redirect("api:tokens")
