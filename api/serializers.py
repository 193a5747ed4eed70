"""What the API answers, as DRF serializers (they also document the OpenAPI schema).
Nothing here reaches a license key: a job says which method and inputs it used, its
status and timeline (secrets masked by jobs.selectors), and links to its archived result."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs import selectors
from jobs.models import Job
from navtalk import contract


class ErrorsSerializer(serializers.Serializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Messages keyed by field (or non_field_errors).")


class EventSerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    attempt = serializers.IntegerField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    message = serializers.CharField()


class ResultSerializer(serializers.Serializer):
    video = serializers.CharField(allow_null=True, help_text="Archived MP4 (GET with your token).")
    poster = serializers.CharField(allow_null=True, help_text="Poster frame (JPEG).")
    duration_seconds = serializers.FloatField(allow_null=True)
    archive_status = serializers.CharField()


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Job.Status.choices)
    method = serializers.IntegerField(min_value=1, max_value=9, help_text="NavTalk's method number, 1–9.")
    method_label = serializers.CharField()
    attempt = serializers.IntegerField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    visual_type = serializers.CharField()
    visual_url = serializers.CharField()
    character_name = serializers.CharField()
    audio_type = serializers.CharField()
    audio_url = serializers.CharField()
    content = serializers.CharField()
    voice = serializers.CharField()
    params = serializers.DictField(help_text="Advanced parameters moved from their default.")
    error_category = serializers.CharField()
    error_message = serializers.SerializerMethodField()
    approval_reason = serializers.CharField(help_text="Why the job awaits (or awaited) a team admin's approval; "
                                                      "empty when it needs none.")
    approval_comment = serializers.CharField(help_text="The team admin's reason, when the job was not approved "
                                                       "(status `rejected`).")
    result = serializers.SerializerMethodField()

    def get_error_message(self, job) -> str:
        return selectors.redacted_failure(job)["error_message"]

    @extend_schema_field(ResultSerializer(allow_null=True))
    def get_result(self, job):
        if job.status != Job.Status.DONE:
            return None
        archived = job.archive_status == Job.Archive.DONE
        request = self.context.get("request")

        def link(name):
            url = reverse(name, args=[job.code])
            return request.build_absolute_uri(url) if request else url

        return {"video": link("api:job-video") if archived and job.archive_file else None,
                "poster": link("api:job-poster") if archived and job.poster_file else None,
                "duration_seconds": job.video_duration, "archive_status": job.archive_status}


class JobDetailSerializer(JobSerializer):
    events = serializers.SerializerMethodField()

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, job):
        return EventSerializer(selectors.job_events(job), many=True).data


class JobPageSerializer(serializers.Serializer):
    results = JobSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Older jobs (keyset cursor link).")
    previous = serializers.CharField(allow_null=True, help_text="Newer jobs.")


class CharacterSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Send as `character`.")
    display_name = serializers.CharField()
    description = serializers.CharField()
    preview = serializers.CharField(source="preview_url")


class VoiceSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Send as `voice`.")
    description = serializers.CharField()
    sample = serializers.CharField(help_text="A spoken sample (WAV), on the portal.")


class PresetSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Send as `preset` when creating a job.")
    name = serializers.CharField()
    description = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    visual_type = serializers.CharField()
    visual_url = serializers.CharField()
    character_name = serializers.CharField()
    uploaded_face = serializers.BooleanField(source="visual_file_kept")
    voice = serializers.CharField()
    params = serializers.DictField()


class UsageSerializer(serializers.Serializer):
    user = serializers.CharField()
    team = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    jobs_last_minute = serializers.IntegerField()
    jobs_last_24h = serializers.IntegerField()
    jobs_this_month = serializers.IntegerField()
    in_flight = serializers.IntegerField()
    limits = serializers.DictField(child=serializers.IntegerField(), help_text="0 means no limit.")


def voices(request) -> list[dict]:
    return [{"name": name, "description": description,
             "sample": request.build_absolute_uri(reverse("api:voice-sample", args=[name]))}
            for name, description in contract.VOICES.items()]
