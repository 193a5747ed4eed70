"""Admin: teams and their members."""

from django.contrib import admin
from django.db.models import Count

from .models import AuditEvent, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name"]}),
        ("Ceilings (set here by staff; the team's admins set quotas up to them on the Team page)",
         {"fields": ["max_jobs_per_day", "max_video_seconds_per_month"]}),
        ("Quotas (the team's admins set these on the Team page)",
         {"fields": ["jobs_per_day", "video_seconds_per_month", "member_jobs_per_day",
                     "member_video_seconds_per_month"]}),
    ]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("membership"))

    @admin.display(description="Members", ordering="_members")
    def member_count(self, team):
        return team._members


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nothing in it can be added, changed or deleted here
    (events past AUDIT_RETENTION_DAYS are pruned by a task)."""

    list_display = ["created_at", "actor_name", "action", "team", "target", "ip"]
    list_filter = ["action", "team"]
    search_fields = ["actor_name", "target"]
    date_hierarchy = "created_at"
    list_select_related = ["team"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
