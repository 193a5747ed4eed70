"""Admin: license keys (write-only secrets) and which teams use them, in order. A
license secret is never rendered: the form field is a blank PasswordInput, and lists
show the masked hint only."""

import uuid

from cryptography.fernet import InvalidToken
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.db import models

from accounts import audit
from accounts.admin import TeamAdmin
from accounts.models import Team
from navtalk.client import NavTalkClient, NavTalkError

from .models import LicenseKey, TeamKey


class LicenseKeyForm(forms.ModelForm):
    secret = forms.CharField(
        label="Secret", required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The license (e.g. sk-…). Write-only: it is stored encrypted and never shown again. "
                  "When editing, leave empty to keep the current one.",
    )

    class Meta:
        model = LicenseKey
        fields = ["name", "secret", "generate_url", "query_status_url", "is_active", "monthly_budget_seconds", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["secret"].label = "Replace secret"

    def clean_secret(self):
        secret = self.cleaned_data.get("secret", "")
        if not secret and not self.instance.pk:
            raise forms.ValidationError("Enter the license key.")
        return secret

    def save(self, commit=True):
        if self.cleaned_data.get("secret"):
            self.instance.secret = self.cleaned_data["secret"]  # encrypts and sets the hint
        self.instance.auth_failed_at = None  # an admin looked at it: new jobs may try it again
        return super().save(commit=commit)


def check_connection(key: LicenseKey) -> str:
    """Two harmless probes, and only what they prove: GET /query_status for a made-up
    task (is the status service there?) and POST /generate with the license alone (a
    request no upstream can turn into a task: does it refuse the license?). Neither can
    prove a license good; the first real job does."""
    try:
        secret = key.secret
    except InvalidToken:
        return "cannot decrypt the stored secret (were LICENSE_ENCRYPTION_KEYS changed?). Enter it again."
    client = NavTalkClient(key.generate_url, key.query_status_url,
                           connect_timeout=min(settings.NAVTALK_CONNECT_TIMEOUT, 5.0),
                           read_timeout=min(settings.NAVTALK_READ_TIMEOUT, 10.0))
    parts = []
    try:
        client.query_status(secret, f"portal-connection-test-{uuid.uuid4().hex}")
        parts.append("the status service answered")
    except NavTalkError as exc:
        if exc.status_code is None:
            parts.append(f"the status service is not reachable at {key.query_status_url} ({exc.message})")
        elif exc.category == "auth":
            return f"license REFUSED: the status service rejected it (HTTP {exc.status_code}: {exc.message})."
        else:
            parts.append(f"the status service answered (HTTP {exc.status_code} for a made-up task)")
    check = client.check_license(secret)
    if check.refused:
        return f"license REFUSED: the video service rejected it (HTTP {check.status_code}: {check.message})."
    if not check.reachable:
        parts.append(f"the video service is not reachable at {key.generate_url} ({check.message})")
        return "; ".join(parts) + ". The license could not be checked."
    parts.append(f"the video service did not refuse the license (HTTP {check.status_code} for a deliberately "
                 "empty request)")
    return "; ".join(parts) + ". That is as far as a test can go without making a video: the first job " \
                              "proves the license."


@admin.register(LicenseKey)
class LicenseKeyAdmin(admin.ModelAdmin):
    form = LicenseKeyForm
    list_display = ["name", "masked_secret", "generate_url", "is_active", "last_used"]
    list_filter = ["is_active"]
    search_fields = ["name", "notes"]
    readonly_fields = ["masked_secret", "last_used_at", "created_at"]
    actions = ["test_connection"]

    def get_fields(self, request, obj=None):
        fields = ["name", "secret", "generate_url", "query_status_url", "is_active", "monthly_budget_seconds", "notes"]
        return (["masked_secret"] + fields + ["last_used_at", "created_at"]) if obj else fields

    # A plain link input: Django's admin URL widget says "Currently: …" above every URL,
    # the defaults never set included.
    formfield_overrides = {models.URLField: {"widget": forms.URLInput(attrs={"class": "vURLField"})}}

    @admin.display(description="Last used", ordering="last_used_at")
    def last_used(self, key):
        return naturaltime(key.last_used_at) if key.last_used_at else "never"

    @admin.display(description="Secret")
    def masked_secret(self, key):
        return key.masked or "—"

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for key in queryset:
            outcome = check_connection(key)
            audit.record("key_tested", actor=request.user, target=key.name, outcome=outcome[:300])
            self.message_user(request, f"{key.name}: {outcome}", level=messages.INFO)

    def save_model(self, request, obj, form, change):
        """Saved, and written to the audit trail: created, secret replaced, disabled or
        enabled (by the key's name; never the secret)."""
        super().save_model(request, obj, form, change)
        if not change:
            audit.record("key_created", actor=request.user, target=obj.name)
            return
        if form.cleaned_data.get("secret"):
            audit.record("key_rotated", actor=request.user, target=obj.name)
        if "is_active" in form.changed_data:
            audit.record("key_enabled" if obj.is_active else "key_disabled", actor=request.user, target=obj.name)


class TeamKeyInline(admin.TabularInline):
    model = TeamKey
    extra = 1
    fields = ["key", "position"]
    verbose_name = "license key"
    verbose_name_plural = "License keys (used in this order; the first active one makes new jobs)"


class TeamWithKeysAdmin(TeamAdmin):
    inlines = [*TeamAdmin.inlines, TeamKeyInline]


admin.site.unregister(Team)
admin.site.register(Team, TeamWithKeysAdmin)
