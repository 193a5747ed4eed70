"""Admin: teams and their members."""

from django.contrib import admin
from django.db.models import Count

from .models import Membership, Team


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
