"""Admin: teams and their members, license keys (write-only secrets), the character
catalog, and a read-mostly view of jobs. A license secret is never rendered: the form
field is a blank PasswordInput, and lists show the masked hint only."""

import json
import uuid

from cryptography.fernet import InvalidToken
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html

from . import selectors, services
from .client import NavTalkClient, NavTalkError
from .models import Character, Job, JobEvent, LicenseKey, Membership, Team

# --- teams -------------------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "default_key", "member_count", "created_at"]
    search_fields = ["name"]
    fields = ["name", "default_key"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("default_key").annotate(_members=Count("membership"))

    @admin.display(description="Members", ordering="_members")
    def member_count(self, team):
        return team._members


# --- license keys ------------------------------------------------------------------------


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


# --- characters --------------------------------------------------------------------------


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "name", "display_name", "sort_order", "is_active"]
    list_display_links = ["name"]
    list_editable = ["sort_order", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "display_name", "description"]
    fields = ["name", "display_name", "description", "preview", "thumbnail", "is_active", "sort_order"]
    readonly_fields = ["thumbnail"]

    @admin.display(description="Preview")
    def thumbnail(self, character):
        if not character.preview_url:
            return "—"
        return format_html('<img src="{}" alt="" width="48" height="48" style="object-fit:cover;border-radius:8px">',
                           character.preview_url)


# --- jobs --------------------------------------------------------------------------------


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "attempt", "from_status", "to_status", "message_masked"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Message")
    def message_masked(self, event):
        return selectors.secret_masker(event.job)(event.message)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "status", "method_display", "created_by", "created_at"]
    list_filter = ["status", "team", "visual_type", "audio_type", "error_category"]
    search_fields = ["title", "content"]
    list_select_related = ["team", "created_by"]
    show_full_result_count = False  # no COUNT(*) over a big table on every search
    inlines = [JobEventInline]
    actions = ["retry_jobs"]
    exclude = ["error_message", "upstream_reply"]  # shown masked, below
    readonly_fields = [
        "error_message_masked" if f.name == "error_message" else "upstream_reply_masked" if f.name == "upstream_reply"
        else f.name for f in Job._meta.fields if f.name not in ("id", "title")
    ] + ["method_display"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Error message")
    def error_message_masked(self, job):
        return selectors.redacted_failure(job)["error_message"] or "—"

    @admin.display(description="Upstream reply")
    def upstream_reply_masked(self, job):
        reply = selectors.redacted_failure(job)["upstream_reply"]
        return "—" if reply is None else json.dumps(reply, indent=2)

    @admin.display(description="Method")
    def method_display(self, job):
        return job.method_label

    @admin.action(description="Retry selected failed or canceled jobs")
    def retry_jobs(self, request, queryset):
        retried = sum(services.job_retry(job, request.user) for job in queryset.select_related("team"))
        self.message_user(request, f"Retried {retried} job(s).", level=messages.INFO)
