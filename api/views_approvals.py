"""Approve or reject a job awaiting approval (issue 11.7) through the API: team owners
and admins only (accounts.permissions APPROVE_JOB), a write token, and the decision is
jobs.services.job_approve / job_reject, the portal's Approvals page's code."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.views import APIView

from accounts import permissions as perms
from jobs import services
from jobs.limits import JobLimitReached

from . import schema
from .errors import message_response
from .serializers import JobDetailSerializer
from .views import _denied, _job, _job_answer


class RejectRequestSerializer(serializers.Serializer):
    comment = serializers.CharField(help_text="Why, in a few words: the person who made the video reads it.")


def _not_waiting(job):
    return message_response(f"This job is {job.get_status_display().lower()}, not awaiting approval, so it cannot "
                            "be approved or rejected.", status.HTTP_409_CONFLICT, field="status")


class ApproveView(APIView):
    @extend_schema(
        operation_id="jobs_approve", parameters=[schema.CODE], request=None,
        summary="Approve a job awaiting approval (team owners and admins)",
        description="It becomes `queued` and is sent as the in-flight limits allow. The caps are checked again: "
                    "a cap reached since the job was made answers 429 and the job keeps waiting.",
        responses={200: JobDetailSerializer, 403: schema.ERRORS, 404: schema.ERRORS, 409: schema.ERRORS,
                   429: schema.ERRORS})
    def post(self, request, code):
        job = _job(request, code)
        if denied := _denied(request, perms.APPROVE_JOB, job):
            return denied
        try:
            done = services.job_approve(job, request.user)
        except JobLimitReached as exc:  # caps lowered since it was made (jobs.quotas)
            return message_response(f"Not approved: {exc.message}", status.HTTP_429_TOO_MANY_REQUESTS)
        return _job_answer(request, job) if done else _not_waiting(job)


class RejectView(APIView):
    @extend_schema(
        operation_id="jobs_reject", parameters=[schema.CODE], request=RejectRequestSerializer,
        summary="Reject a job awaiting approval, saying why (team owners and admins)",
        description="It becomes `rejected` (final; duplicate it to start again) and its maker is told, with "
                    "the comment.",
        examples=[OpenApiExample("Too long", value={"comment": "Please keep it under a minute."},
                                 request_only=True)],
        responses={200: JobDetailSerializer, 400: schema.ERRORS, 403: schema.ERRORS, 404: schema.ERRORS,
                   409: schema.ERRORS})
    def post(self, request, code):
        job = _job(request, code)
        if denied := _denied(request, perms.APPROVE_JOB, job):
            return denied
        comment = request.data.get("comment", "") if hasattr(request.data, "get") else ""
        try:
            done = services.job_reject(job, request.user, comment if isinstance(comment, str) else "")
        except services.ApprovalRefused as exc:
            return message_response(exc.message, status.HTTP_400_BAD_REQUEST, field="comment")
        return _job_answer(request, job) if done else _not_waiting(job)
