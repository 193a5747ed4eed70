"""A job's own receiver (`webhook_url` on create) and its delivery log: each event sent
to it, with the attempts and the receiver's last answer (automation.webhooks sends them)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from automation.models import JobWebhook

from . import schema
from .views import _job


class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField(source="msg_id", help_text="The webhook-id header (the same on every retry).")
    event = serializers.CharField()
    status = serializers.CharField(help_text="pending (will be retried), succeeded or failed (gave up).")
    attempts = serializers.IntegerField()
    last_status = serializers.IntegerField(allow_null=True, help_text="The receiver's last HTTP status.")
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class JobWebhookLogSerializer(serializers.Serializer):
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    deliveries = DeliverySerializer(many=True)


class JobWebhookView(APIView):
    @extend_schema(operation_id="jobs_webhook", parameters=[schema.CODE],
                   summary="The job's own webhook (`webhook_url`) and its delivery log",
                   responses={200: JobWebhookLogSerializer, 404: schema.ERRORS})
    def get(self, request, code):
        hook = JobWebhook.objects.filter(job=_job(request, code)).first()
        if hook is None:
            raise Http404("This job was created without a webhook_url.")
        deliveries = hook.deliveries.order_by("created_at", "id")
        return Response(JobWebhookLogSerializer({"url": hook.url, "created_at": hook.created_at,
                                                 "deliveries": deliveries}).data)
