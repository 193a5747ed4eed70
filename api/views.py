"""The REST API, /api/v1/: jobs (create with any of the nine methods, list, get, cancel,
retry, duplicate with changes, download the result and poster), characters, voices and
the caller's usage. Every query is scoped to the token's team through jobs.selectors;
another team's job is a 404. Jobs are created only through jobs.services.job_create
(its limits hold), from inputs validated by front.job_inputs (the create page's rules).
"""

import datetime as dt
import uuid
from urllib.parse import urlencode

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions as perms
from automation import webhooks
from automation.models import JobWebhook
from front import presets
from front import voices as front_voices
from front.forms import HistoryFilterForm
from front.views_webhooks import EndpointForm
from jobs import selectors, services
from jobs.limits import JobLimitReached
from jobs.models import Job
from keys.selection import key_for_team
from lib.ranged import ranged_storage_response
from navtalk import contract

from . import schema
from .auth import refusal
from .errors import errors_response, message_response
from .inputs import create_form
from .models import ApiJob
from .serializers import (
    CharacterSerializer,
    JobDetailSerializer,
    JobPageSerializer,
    JobSerializer,
    PresetSerializer,
    UsageSerializer,
    VoiceSerializer,
    voices,
)

PER_PAGE_MAX = 100
NO_KEY = ("Your team has no active license key, so no video can be made yet. Ask an admin to set one for the team.")


def _job(request, code: str) -> Job:
    """The team's job, or a JSON 404 (also for a code that is not a job id at all)."""
    try:
        code = uuid.UUID(code)
    except ValueError:
        raise Http404("Not found in your team.") from None
    return selectors.job_for(request.team, code)


def _denied(request, action, job=None):
    reason = refusal(request.membership, action, job)
    return message_response(reason, status.HTTP_403_FORBIDDEN) if reason else None


def _job_answer(request, job, status_code=status.HTTP_200_OK, **headers) -> Response:
    job = selectors.job_for(request.team, job.code)  # fresh, with created_by and license_key for masking
    return Response(JobDetailSerializer(job, context={"request": request}).data, status=status_code,
                    headers=headers or None)


def _webhook_url(request) -> tuple[str, dict]:
    """The optional `webhook_url` (the job's own receiver), checked as the Webhooks page
    checks a team's receiver."""
    value = request.data.get("webhook_url") if hasattr(request.data, "get") else None
    if value in (None, ""):
        return "", {}
    form = EndpointForm({"url": value if isinstance(value, str) else ""})
    return (form.cleaned_data["url"], {}) if form.is_valid() else ("", {"webhook_url": form.errors["url"]})


def _with_webhook(response: Response, job) -> Response:
    """The create answer (or its replay) names the job's own receiver and its secret."""
    hook = JobWebhook.objects.filter(job=job).first()
    if hook is not None:
        response.data["webhook"] = {"url": hook.url, "secret": hook.secret}
    return response


def _create(request, *, source_job=None) -> Response:
    """Validate with the shared rules and create through services.job_create, once per
    Idempotency-Key (a retried call returns the first job). An optional `webhook_url`
    gets this job's end, signed with a secret made for it (automation.webhooks)."""
    if denied := _denied(request, perms.CREATE_JOB):
        return denied
    team, user = request.team, request.user
    key_header = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key_header) > 200:
        return message_response("Idempotency-Key is at most 200 characters.", 400)
    if key_header and (first := ApiJob.objects.filter(user=user, team=team, idempotency_key=key_header)
                       .select_related("job").first()):
        return _with_webhook(_job_answer(request, first.job, **{"Idempotent-Replayed": "true"}), first.job)
    form, body_errors = create_form(request, team, source_job=source_job)
    hook_url, hook_errors = _webhook_url(request)
    errors = {**form.errors, **body_errors, **hook_errors}
    if errors:
        return errors_response(errors)
    license_key = key_for_team(team)
    if license_key is None:
        return message_response(NO_KEY, status.HTTP_409_CONFLICT)
    try:
        with transaction.atomic():
            job = services.job_create(team=team, user=user, license_key=license_key, **form.job_inputs())
            ApiJob.objects.create(job=job, token=request.auth, user=user, team=team, idempotency_key=key_header)
            if hook_url:
                webhooks.attach_to_job(job, hook_url)
    except JobLimitReached as exc:
        return message_response(exc.message, status.HTTP_429_TOO_MANY_REQUESTS)
    except IntegrityError:  # the same key, created by a concurrent call: answer its job
        first = ApiJob.objects.select_related("job").get(user=user, team=team, idempotency_key=key_header)
        return _with_webhook(_job_answer(request, first.job, **{"Idempotent-Replayed": "true"}), first.job)
    return _with_webhook(_job_answer(request, job, status.HTTP_201_CREATED,
                                     Location=reverse("api:job", args=[job.code])), job)


class JobsView(APIView):
    @extend_schema(operation_id="jobs_list", parameters=schema.LIST_PARAMETERS,
                   responses={200: JobPageSerializer, 400: schema.ERRORS}, summary="List the team's jobs")
    def get(self, request):
        members = selectors.team_members(request.team)
        filters = HistoryFilterForm(request.query_params, methods=selectors.METHOD_LABELS, members=members)
        if not filters.is_valid():
            return errors_response(filters.errors)
        try:
            per_page = min(max(int(request.query_params.get("limit", 25)), 1), PER_PAGE_MAX)
        except ValueError:
            return message_response("Enter a whole number.", 400, field="limit")
        jobs = selectors.history(request.team, **{k: v for k, v in filters.cleaned_data.items()
                                                  if v not in (None, "")})
        page = selectors.keyset_page(jobs, after=request.query_params.get("after"),
                                     before=request.query_params.get("before"), per_page=per_page)

        def link(**cursor):
            query = {k: v for k, v in request.query_params.items() if k not in ("after", "before")}
            return request.build_absolute_uri(f"{request.path}?{urlencode({**query, **cursor})}")

        return Response({"results": JobSerializer(page.items, many=True, context={"request": request}).data,
                         "next": link(after=page.older) if page.older else None,
                         "previous": link(before=page.newer) if page.newer else None})

    @extend_schema(operation_id="jobs_create", summary="Create a job (any of the nine methods)",
                   request=schema.CREATE_REQUEST, parameters=[schema.IDEMPOTENCY_KEY], examples=schema.EXAMPLES,
                   responses={201: schema.JobCreatedSerializer, 200: schema.JobCreatedSerializer,
                              **schema.WRITE_ERRORS})
    def post(self, request):
        return _create(request)


class JobView(APIView):
    @extend_schema(operation_id="jobs_get", parameters=[schema.CODE], summary="One job: status, timeline, result links",
                   responses={200: JobDetailSerializer, 404: schema.ERRORS})
    def get(self, request, code):
        return _job_answer(request, _job(request, code))


class JobActionView(APIView):
    action = ""  # cancel | retry

    def post(self, request, code):
        job = _job(request, code)
        if denied := _denied(request, {"cancel": perms.CANCEL_JOB, "retry": perms.RETRY_JOB}[self.action], job):
            return denied
        try:
            done = (services.job_cancel if self.action == "cancel" else services.job_retry)(job, request.user)
        except JobLimitReached as exc:  # a retry takes a quota unit again (jobs.quotas)
            return message_response(exc.message, status.HTTP_429_TOO_MANY_REQUESTS)
        if not done:
            word = {"cancel": "canceled (only jobs in progress can)",
                    "retry": "retried (only failed or canceled jobs can)"}[self.action]
            return message_response(f"This job is {job.get_status_display().lower()} and cannot be {word}.",
                                    status.HTTP_409_CONFLICT, field="status")
        return _job_answer(request, job)


class CancelView(JobActionView):
    action = "cancel"

    @extend_schema(operation_id="jobs_cancel", parameters=[schema.CODE], request=None,
                   summary="Stop tracking a job in progress",
                   responses={200: JobDetailSerializer, 403: schema.ERRORS, 404: schema.ERRORS, 409: schema.ERRORS})
    def post(self, request, code):
        return super().post(request, code)


class RetryView(JobActionView):
    action = "retry"

    @extend_schema(operation_id="jobs_retry", parameters=[schema.CODE], request=None,
                   summary="Send a failed or canceled job again",
                   responses={200: JobDetailSerializer, 403: schema.ERRORS, 404: schema.ERRORS, 409: schema.ERRORS})
    def post(self, request, code):
        return super().post(request, code)


class DuplicateView(APIView):
    @extend_schema(operation_id="jobs_duplicate", summary="A new job like this one, with your changes",
                   request=schema.CREATE_REQUEST, parameters=[schema.CODE, schema.IDEMPOTENCY_KEY],
                   responses={201: schema.JobCreatedSerializer, 200: schema.JobCreatedSerializer,
                              404: schema.ERRORS, **schema.WRITE_ERRORS})
    def post(self, request, code):
        return _create(request, source_job=_job(request, code))


class ResultFileView(APIView):
    field, content_type, extension = "", "", ""

    def get(self, request, code):
        job = _job(request, code)
        if denied := _denied(request, perms.DOWNLOAD, job):
            return denied
        file = getattr(job, self.field)
        if job.archive_status != Job.Archive.DONE or not file:
            raise Http404("This job has no archived result.")
        name = (slugify(job.title) or "video")[:80] + self.extension
        try:  # streamed from storage (filesystem or S3) with Range, never whole in memory (lib.storage)
            return ranged_storage_response(request, default_storage, file.name, content_type=self.content_type,
                                           cache_control="private, max-age=3600", filename=name, attachment=True)
        except FileNotFoundError:
            raise Http404("The archived file is missing.") from None


class VideoView(ResultFileView):
    field, content_type, extension = "archive_file", "video/mp4", ".mp4"

    @extend_schema(operation_id="jobs_video", parameters=[schema.CODE], summary="Download the archived MP4",
                   responses={(200, "video/mp4"): schema.BINARY, 404: schema.ERRORS})
    def get(self, request, code):
        return super().get(request, code)


class PosterView(ResultFileView):
    field, content_type, extension = "poster_file", "image/jpeg", ".jpg"

    @extend_schema(operation_id="jobs_poster", parameters=[schema.CODE], summary="Download the poster frame",
                   responses={(200, "image/jpeg"): schema.BINARY, 404: schema.ERRORS})
    def get(self, request, code):
        return super().get(request, code)


class CharactersView(APIView):
    @extend_schema(operation_id="characters_list", responses={200: CharacterSerializer(many=True)},
                   summary="Built-in characters (send `name` as `character`)")
    def get(self, request):
        return Response(CharacterSerializer(selectors.active_characters(), many=True).data)


class VoicesView(APIView):
    @extend_schema(operation_id="voices_list", responses={200: VoiceSerializer(many=True)},
                   summary="Voices for typed text, with a spoken sample each")
    def get(self, request):
        return Response(voices(request))


class VoiceSampleView(APIView):
    @extend_schema(operation_id="voices_sample", summary="A voice's spoken sample (WAV)",
                   parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, enum=list(contract.VOICES))],
                   responses={(200, "audio/wav"): schema.BINARY, 404: schema.ERRORS, 503: schema.ERRORS})
    def get(self, request, name):
        if name not in contract.VOICES:
            raise Http404("No such voice.")
        response = front_voices.voice_sample(request._request, name)  # the portal's own sample, same code
        if response.status_code >= 400:
            return message_response("This voice sample could not be made right now. Try again in a minute.",
                                    response.status_code)
        return response


class PresetsView(APIView):
    @extend_schema(operation_id="presets_list", responses={200: PresetSerializer(many=True)},
                   summary="The team's presets (send `id` as `preset` when creating a job)")
    def get(self, request):
        return Response(PresetSerializer(presets.team_presets(request.team), many=True).data)


class UsageView(APIView):
    @extend_schema(operation_id="usage", responses={200: UsageSerializer}, summary="Your jobs and limits")
    def get(self, request):
        from django.conf import settings

        now = timezone.now()
        mine = selectors.team_jobs(request.team).filter(created_by=request.user)
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return Response({
            "user": request.user.get_username(), "team": request.team.name,
            "role": getattr(request.membership, "role", None),
            "jobs_last_minute": mine.filter(created_at__gte=now - dt.timedelta(minutes=1)).count(),
            "jobs_last_24h": mine.filter(created_at__gte=now - dt.timedelta(days=1)).count(),
            "jobs_this_month": mine.filter(created_at__gte=month).count(),
            "in_flight": mine.filter(status__in=Job.IN_FLIGHT_STATUSES).count(),
            "limits": {"jobs_per_minute": settings.JOB_RATE_PER_USER_PER_MINUTE,
                       "team_jobs_per_minute": settings.JOB_RATE_PER_TEAM_PER_MINUTE,
                       "in_flight": settings.JOB_MAX_IN_FLIGHT_PER_USER,
                       "team_in_flight": settings.JOB_MAX_IN_FLIGHT_PER_TEAM},
        })
