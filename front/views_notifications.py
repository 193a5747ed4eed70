"""The notifications page: the person's videos finished since they last looked (the
count is in the header), earlier ones, and their email preferences."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render

from accounts import permissions as perms
from accounts.models import Profile
from accounts.permissions import permission_required
from jobs import notifications


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["email_on_done", "email_on_failed"]
        labels = {"email_on_done": "Email me when my video is ready",
                  "email_on_failed": "Email me when my video could not be made"}
        help_texts = {"email_on_done": "", "email_on_failed": ""}


@permission_required(perms.VIEW)
def notifications_page(request):
    # Read the lists before profile_for: a first visit creates the profile (seen "now").
    related = ("created_by", "approval_decided_by")
    new = list(notifications.unseen(request.user, request.team).select_related(*related)[:50])
    earlier = list(notifications.earlier(request.user, request.team).select_related(*related))
    profile = notifications.profile_for(request.user)
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST, instance=profile)
        if form.is_valid():
            form.save()
            messages.success(request, "Email preferences saved.")
            return redirect("jobs:notifications")
    else:
        form = NotificationSettingsForm(instance=profile)
    if request.method == "GET":
        notifications.mark_seen(request.user)  # opening the list is looking at it
    return render(request, "jobs/notifications.html", {"form": form, "new": new, "earlier": earlier})
