"""Approvals (issue 11.7): the team's videos waiting for an owner's or admin's decision,
with Approve and Reject (with a comment), and the team's approval rules (Team page).

Which jobs wait is `jobs.approvals`; the decisions are `jobs.services.job_approve` /
`job_reject` (the only code that changes a status); who may decide is
`accounts.permissions` (APPROVE_JOB: owners and admins).
"""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import audit
from accounts import permissions as perms
from accounts.models import Membership, Team
from accounts.permissions import permission_required
from jobs import approvals, selectors, services
from jobs.limits import JobLimitReached

APPROVALS_PER_PAGE = 100


class ApprovalRulesForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["approval_over_seconds"]
        labels = {"approval_over_seconds": "Videos longer than this many seconds wait for approval"}
        help_texts = {"approval_over_seconds": "Typed text counts at about 15 characters a second, uploaded audio "
                                               "by its length; linked audio, whose length is not known beforehand, "
                                               "always waits. Empty: no length needs approval."}


def _back(request, job):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(job)


@permission_required(perms.APPROVE_JOB)
def approvals_page(request):
    waiting = list(approvals.waiting(request.team)[:APPROVALS_PER_PAGE])
    return render(request, "team/approvals.html", {
        "waiting": waiting, "total": approvals.waiting(request.team).count(),
        "rules_form": ApprovalRulesForm(instance=request.team),
        "flagged": Membership.objects.filter(team=request.team, requires_approval=True).select_related("user")
        .order_by("user__username")})


def _no_longer_waiting(request, job) -> None:
    messages.warning(request, f"“{job.title}” is no longer waiting for approval "
                              f"(it is {job.get_status_display().lower()}).")


@require_POST
@permission_required(perms.APPROVE_JOB)
def approve(request, code):
    job = selectors.job_for(request.team, code)
    try:
        done = services.job_approve(job, request.user)
    except JobLimitReached as exc:  # caps lowered since it was made (jobs.quotas)
        messages.error(request, f"“{job.title}” was not approved: {exc.message}")
        return _back(request, job)
    if done:
        messages.success(request, f"“{job.title}” approved; it is being made now. {job.created_by} is told.")
    else:
        _no_longer_waiting(request, job)
    return _back(request, job)


@require_POST
@permission_required(perms.APPROVE_JOB)
def reject(request, code):
    job = selectors.job_for(request.team, code)
    try:
        done = services.job_reject(job, request.user, request.POST.get("comment", ""))
    except services.ApprovalRefused as exc:
        messages.error(request, f"“{job.title}” is still waiting: {exc.message}")
        return _back(request, job)
    if done:
        messages.success(request, f"“{job.title}” was not approved. {job.created_by} is told, with your comment.")
    else:
        _no_longer_waiting(request, job)
    return _back(request, job)


@require_POST
@permission_required(perms.MANAGE_QUOTAS)
def set_rules(request):
    form = ApprovalRulesForm(request.POST, instance=Team.objects.get(pk=request.team.pk))
    if not form.is_valid():
        for error in form.errors.get("approval_over_seconds", []):
            messages.error(request, f"Approval rule not saved: {error}")
        return redirect(reverse("jobs:approvals"))
    form.save()
    if form.changed_data:
        audit.record("approval_settings_changed", actor=request.user, team=request.team,
                     target="videos longer than", approval_over_seconds=form.cleaned_data["approval_over_seconds"])
    value = form.cleaned_data["approval_over_seconds"]
    messages.success(request, "Saved: " + (f"videos longer than {value} s wait for approval." if value is not None
                                           else "no length needs approval."))
    return redirect(reverse("jobs:approvals"))
