"""The portal's pages. Function views; every job query is scoped to `request.team`
through `jobs.selectors`, so another team's job is a 404 (never a 403). What the
person's role allows is asked of `accounts.permissions` (a 403 in plain words)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import permissions as perms
from accounts.middleware import SESSION_KEY
from accounts.models import Team
from accounts.permissions import permission_required
from jobs import approvals, selectors, services
from jobs.limits import JobLimitReached
from jobs.models import Job, method_label
from keys.selection import key_for_team
from navtalk import contract

from . import presets
from .forms import (
    AUDIO_SOURCES,
    AUDIO_TYPE,
    VISUAL_SOURCES,
    VISUAL_TYPE,
    CreateJobForm,
    HistoryFilterForm,
    initial_from_job,
)
from .media_warning import public_base_warning

HISTORY_PER_PAGE = 25
GALLERY_PER_PAGE = 12


# --- create ---------------------------------------------------------------------------


def _upload_warning(key) -> str:
    """public_base_warning resolves host names, so its answer is cached for a while."""
    cache_key = f"jobs:public-base-warning:{settings.PUBLIC_BASE_URL}:{key.generate_url}"
    warning = cache.get(cache_key)
    if warning is None:
        warning = public_base_warning(key.generate_url)
        cache.set(cache_key, warning, 300)
    return warning


def _create_page(request, form, *, source_job=None, status=200):
    key = key_for_team(request.team)
    labels = {f"{v}:{a}": method_label(VISUAL_TYPE[v], AUDIO_TYPE[a]) for v, _ in VISUAL_SOURCES
              for a, _ in AUDIO_SOURCES}
    context = {
        "form": form,
        "source_job": source_job,
        "license_key": key,
        "upload_warning": _upload_warning(key) if key else "",
        "characters": selectors.active_characters(),
        "voices": list(contract.VOICES.items()),
        "method_labels": labels,
        "visual_sources": VISUAL_SOURCES,
        "audio_sources": AUDIO_SOURCES,
        "current_visual": form.current_source("visual_source"),
        "current_audio": form.current_source("audio_source"),
    }
    return render(request, "jobs/create.html", context, status=status)


def _default_initial(characters_exist: bool) -> dict:
    return {"visual_source": "character" if characters_exist else "image_file", "audio_source": "content"}


@permission_required(perms.VIEW)
def create(request):
    if request.method == "GET" and not perms.allowed(request.role, perms.CREATE_JOB):
        return redirect("jobs:gallery")  # the start page (after login, the logo) of someone who only watches
    perms.require(request, perms.CREATE_JOB)
    team = request.team
    if request.method == "POST":
        form = CreateJobForm(request.POST, request.FILES, team=team, user=request.user)
        key = key_for_team(team)
        if form.is_valid() and key is not None:
            try:
                job = services.job_create(team=team, user=request.user, license_key=key, **form.job_inputs())
            except JobLimitReached as exc:
                form.add_error(None, exc.message)
                return _create_page(request, form, source_job=form.reuse_job, status=429)
            messages.success(request, "Saved. It waits for a team admin's approval (see below why)." if
                             job.status == Job.Status.AWAITING_APPROVAL else
                             "Job created. Its status below updates by itself.")
            return redirect(job)
        if key is None:
            form.add_error(None, "Your team has no active license key, so no video can be made yet. "
                                 "Ask an admin to set one for the team.")
        return _create_page(request, form, source_job=form.reuse_job)
    initial = _default_initial(bool(selectors.active_characters()))
    if request.GET.get("preset"):  # "Start from a preset" (front.presets)
        preset = presets.preset_for(team, request.GET["preset"])
        return _create_page(request, presets.create_form_from_preset(request, preset, initial))
    return _create_page(request, CreateJobForm(team=team, initial=initial))


@permission_required(perms.CREATE_JOB)
def duplicate(request, code):
    job = selectors.job_for(request.team, code)
    form = CreateJobForm(team=request.team, initial=initial_from_job(job))
    return _create_page(request, form, source_job=job)


# --- one job --------------------------------------------------------------------------


def _job_context(job: Job) -> dict:
    steps = [Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.STARTED, Job.Status.PROCESSING, Job.Status.DONE]
    reached = len(steps) if job.status == Job.Status.DONE else steps.index(job.status) if job.status in steps else -1
    return {"job": job, "events": selectors.job_events(job), "steps": steps if reached >= 0 else [],
            "reached": reached, "voice_description": contract.VOICES.get(job.voice, ""),
            "approvers": approvals.approvers(job.team_id) if job.status == Job.Status.AWAITING_APPROVAL else [],
            **selectors.redacted_failure(job)}


@permission_required(perms.VIEW)
def detail(request, code):
    job = selectors.job_for(request.team, code)
    return render(request, "jobs/detail.html", _job_context(job))


@permission_required(perms.VIEW)
def status(request, code):
    """The live part of the detail page, polled by portal.js while the job is in flight."""
    job = selectors.job_for(request.team, code)
    response = render(request, "jobs/partials/job_status_answer.html", _job_context(job))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@permission_required(perms.RETRY_JOB)
def retry(request, code):
    job = selectors.job_for(request.team, code)
    perms.require(request, perms.RETRY_JOB, job=job)
    try:
        retried = services.job_retry(job, request.user)
    except JobLimitReached as exc:  # a quota or a key's budget (jobs.quotas)
        messages.error(request, exc.message)
        return redirect(job)
    if retried:
        messages.success(request, f"Sent again (attempt {job.attempt}).")
    else:
        messages.warning(request, "Only failed or canceled jobs can be retried; "
                                  f"this one is {job.get_status_display().lower()}.")
    return redirect(job)


@require_POST
@permission_required(perms.CANCEL_JOB)
def cancel(request, code):
    job = selectors.job_for(request.team, code)
    perms.require(request, perms.CANCEL_JOB, job=job)
    if services.job_cancel(job, request.user):
        messages.success(request, "Canceled. The portal stopped tracking this job.")
    else:
        messages.warning(request, f"This job is {job.get_status_display().lower()} and can no longer be canceled.")
    return redirect(job)


# --- lists ----------------------------------------------------------------------------


@permission_required(perms.VIEW)
def history(request):
    members = selectors.team_members(request.team)
    form = HistoryFilterForm(request.GET or None, methods=selectors.METHOD_LABELS, members=members)
    filters = form.filters() if form.is_bound else {}
    jobs = selectors.history(request.team, **filters)
    page = selectors.keyset_page(jobs, after=request.GET.get("after"), before=request.GET.get("before"),
                                 per_page=HISTORY_PER_PAGE)
    return render(request, "jobs/history.html", {"form": form, "page": page, "filtered": bool(filters)})


@permission_required(perms.VIEW)
def gallery(request):
    page = selectors.keyset_page(selectors.gallery(request.team), after=request.GET.get("after"),
                                 before=request.GET.get("before"), per_page=GALLERY_PER_PAGE)
    # Videos still being made show as live placeholders above the first page.
    in_flight = selectors.in_flight(request.team) if page.is_first else []
    return render(request, "jobs/gallery.html", {"page": page, "in_flight": in_flight})


# --- team switcher ----------------------------------------------------------------------


@require_POST
@login_required
def switch_team(request):
    try:
        team = request.user.teams.get(pk=int(request.POST.get("team", "")))
    except (ValueError, Team.DoesNotExist):
        raise Http404("No such team.") from None
    request.session[SESSION_KEY] = team.pk
    messages.info(request, f"Now working in {team.name}.")
    return redirect(_after_switch(request))


def _after_switch(request) -> str:
    """Back where the person was, unless that page belonged to the previous team's job."""
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return reverse("jobs:create")
    try:
        match = resolve(target.split("?")[0])
    except Resolver404:
        return reverse("jobs:create")
    if "code" in match.kwargs:
        return reverse("jobs:history")
    return target
