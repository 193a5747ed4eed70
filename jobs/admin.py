"""Admin: the character catalog and a read-mostly view of jobs."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from . import selectors, services
from .models import Character, Job, JobEvent, UsageEntry, method_number_label

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
        return format_html('<img src="{}" alt="" width="48" height="48">',  # no style=: CSP
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

    def save_model(self, request, obj, form, change):
        """Write only the fields the person edited: a whole-row save would write back
        the status read when the form was loaded, undoing what the poller did meanwhile
        (a DONE overwritten, then finished twice: second email, second archive)."""
        if not change:
            return super().save_model(request, obj, form, change)
        edited = [name for name in form.changed_data if name in {f.name for f in Job._meta.concrete_fields}]
        if edited:
            obj.save(update_fields=[*edited, "updated_at"])

    @admin.display(description="Error message")
    def error_message_masked(self, job):
        return selectors.redacted_failure(job)["error_message"] or "—"

    @admin.display(description="Upstream reply")
    def upstream_reply_masked(self, job):
        reply = selectors.redacted_failure(job)["upstream_reply"]
        return "—" if reply is None else json.dumps(reply, indent=2)

    @admin.display(description="Method")
    def method_display(self, job):
        return method_number_label(job.visual_type, job.audio_type)

    @admin.action(description="Retry selected failed or canceled jobs")
    def retry_jobs(self, request, queryset):
        retried = sum(services.job_retry(job, request.user) for job in queryset.select_related("team"))
        self.message_user(request, f"Retried {retried} job(s).", level=messages.INFO)


@admin.register(UsageEntry)
class UsageEntryAdmin(admin.ModelAdmin):
    """The usage ledger, read-only: nothing in it can be added, changed or deleted here."""

    list_display = ["created_at", "kind", "team", "user", "key", "job_id", "attempt", "method", "audio_bytes",
                    "text_chars", "video_seconds"]
    list_filter = ["kind", "method"]
    list_select_related = ["team", "user", "key"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
