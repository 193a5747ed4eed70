"""Admin: license keys (write-only secrets) and which teams use them, in order. A
license secret is never rendered: the form field is a blank PasswordInput, and lists
show the masked hint only."""

import uuid

from cryptography.fernet import InvalidToken
from django import forms
from django.conf import settings
from django.contrib import admin, messages

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
        fields = ["name", "secret", "generate_url", "query_status_url", "is_active", "notes"]

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
        return super().save(commit=commit)


def check_connection(key: LicenseKey) -> str:
    """Ask the upstream about a made-up task with this key: the status code tells
    whether the service is reachable and whether it accepts the license."""
    try:
        secret = key.secret
    except InvalidToken:
        return "cannot decrypt the stored secret (were LICENSE_ENCRYPTION_KEYS changed?). Enter it again."
    client = NavTalkClient(key.generate_url, key.query_status_url,
                           connect_timeout=min(settings.NAVTALK_CONNECT_TIMEOUT, 5.0),
                           read_timeout=min(settings.NAVTALK_READ_TIMEOUT, 10.0))
    try:
        client.query_status(secret, f"portal-connection-test-{uuid.uuid4().hex}")
    except NavTalkError as exc:
        code = exc.status_code
        if code is None:
            return f"not reachable at {key.query_status_url} ({exc.message})."
        if code in (401, 403):
            return f"reachable, auth refused: the service rejected this license (HTTP {code})."
        if code >= 500:
            return f"reachable, but the service answered HTTP {code}; auth could not be checked."
        return f"reachable, auth ok (HTTP {code} for a made-up task, as expected)."
    return "reachable, auth ok."


@admin.register(LicenseKey)
class LicenseKeyAdmin(admin.ModelAdmin):
    form = LicenseKeyForm
    list_display = ["name", "masked_secret", "generate_url", "is_active", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "notes"]
    readonly_fields = ["masked_secret", "last_used_at", "created_at"]
    actions = ["test_connection"]

    def get_fields(self, request, obj=None):
        fields = ["name", "secret", "generate_url", "query_status_url", "is_active", "notes"]
        return (["masked_secret"] + fields + ["last_used_at", "created_at"]) if obj else fields

    @admin.display(description="Secret")
    def masked_secret(self, key):
        return key.masked or "—"

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for key in queryset:
            self.message_user(request, f"{key.name}: {check_connection(key)}", level=messages.INFO)


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
