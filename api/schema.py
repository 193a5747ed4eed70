"""OpenAPI pieces of the API: the create request (JSON and multipart), an example for
each of NavTalk's nine methods, list filters, and the one error shape."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from front.job_inputs import AUDIO_SOURCES, RANGES, VISUAL_SOURCES
from jobs.models import Job
from navtalk import contract

from .serializers import ErrorsSerializer, JobDetailSerializer


class JobWebhookSerializer(serializers.Serializer):
    url = serializers.CharField()
    secret = serializers.CharField(help_text="whsec_…: verify the signature of this job's events with it "
                                             "(Standard Webhooks). Shown only in the create answer.")


class JobCreatedSerializer(JobDetailSerializer):
    webhook = JobWebhookSerializer(required=False, help_text="Only when `webhook_url` was sent.")


ERRORS = OpenApiResponse(ErrorsSerializer, description="Messages keyed by field, as on the create page.")
WRITE_ERRORS = {400: ERRORS, 403: ERRORS, 409: ERRORS, 429: ERRORS}
BINARY = OpenApiTypes.BINARY

CODE = OpenApiParameter("code", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The job's id.")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Any unique text (≤ 200 characters). Sending the same key again returns the first job "
                "(200, header Idempotent-Replayed: true) instead of making a second one.")

LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Words in the title or text."),
    OpenApiParameter("status", str, enum=list(Job.Status.values)),
    OpenApiParameter("method", int, description="NavTalk method number, 1–9."),
    OpenApiParameter("creator", int, description="A team member's user id."),
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
    OpenApiParameter("after", str, description="Cursor from `next` (older jobs)."),
    OpenApiParameter("before", str, description="Cursor from `previous` (newer jobs)."),
    OpenApiParameter("limit", int, description="Jobs per page, 1–100 (default 25)."),
]


def _fields(files_as: str) -> dict:
    text = {"required": False, "allow_blank": True}
    fields = {
        "visual_source": serializers.ChoiceField([v for v, _ in VISUAL_SOURCES], required=False,
                                                 help_text="Which face: the name of the input that counts."),
        "video_url": serializers.CharField(**text), "image_url": serializers.CharField(**text),
        "character": serializers.CharField(**text, help_text="A name from /api/v1/characters/."),
        "audio_source": serializers.ChoiceField([a for a, _ in AUDIO_SOURCES], required=False,
                                                help_text="Which voice: the name of the input that counts."),
        "audio_url": serializers.CharField(**text),
        "content": serializers.CharField(**text, help_text="Text to speak (with `voice`)."),
        "voice": serializers.CharField(**text, help_text="One of " + ", ".join(contract.VOICES) + "."),
        "title": serializers.CharField(**text),
        "preset": serializers.IntegerField(required=False, help_text="Start from this preset (/api/v1/presets/); "
                                                                     "the other fields change what you send."),
        "parsing_mode": serializers.ChoiceField(list(contract.PARSING_MODES), required=False),
        "webhook_url": serializers.CharField(**text, help_text="This job's own receiver: it gets the job's end "
                                             "(done, failed, canceled) signed with a secret made for this job, "
                                             "shown once in the answer (`webhook.secret`)."),
        **{name: serializers.IntegerField(required=False, min_value=low, max_value=high)
           for name, (low, high) in RANGES.items()},
    }
    for name in ("video_file", "image_file", "audio_file"):
        if files_as == "base64":
            fields[name] = serializers.CharField(**text, help_text="The file's content, base64.")
            fields[f"{name}_name"] = serializers.CharField(**text, help_text="Its file name (for the title).")
        else:
            fields[name] = serializers.FileField(required=False)
    return fields


CREATE_REQUEST = {
    "application/json": inline_serializer("CreateJobJson", _fields("base64")),
    "multipart/form-data": inline_serializer("CreateJobMultipart", _fields("file")),
}

_TEXT = {"audio_source": "content", "content": "Welcome to NavTalk.", "voice": "nova"}
_AUDIO_URL = {"audio_source": "audio_url", "audio_url": "https://example.com/speech.mp3"}
_AUDIO_FILE = {"audio_source": "audio_file", "audio_file": "<base64 of an MP3 or WAV>",
               "audio_file_name": "speech.wav"}
_VIDEO = {"visual_source": "video_url", "video_url": "https://example.com/clip.mp4"}
_IMAGE = {"visual_source": "image_url", "image_url": "https://example.com/photo.jpg"}
_CHARACTER = {"visual_source": "character", "character": "navtalk.Leo"}
_NINE = [
    ("1 Video + audio link", _VIDEO, _AUDIO_URL), ("2 Video + audio file", _VIDEO, _AUDIO_FILE),
    ("3 Video + typed text", _VIDEO, _TEXT), ("4 Photo + audio link", _IMAGE, _AUDIO_URL),
    ("5 Photo + audio file", _IMAGE, _AUDIO_FILE), ("6 Photo + typed text", _IMAGE, _TEXT),
    ("7 Character + audio link", _CHARACTER, _AUDIO_URL), ("8 Character + audio file", _CHARACTER, _AUDIO_FILE),
    ("9 Character + typed text", _CHARACTER, _TEXT),
]
EXAMPLES = [OpenApiExample(name, value={"title": name[2:], **visual, **audio}, request_only=True,
                           media_type="application/json") for name, visual, audio in _NINE]
