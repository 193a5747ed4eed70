"""What the batch endpoints answer (and the OpenAPI schema says): a batch, its rows with
their jobs' status, and the preview of every row checked by the create form's rules."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from front.batch_rows import TARGETS
from jobs import selectors
from jobs.models import Job

MAPPING_HELP = ("Field -> column: which column fills which field. Fields: " + ", ".join(TARGETS) + ".")


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True, help_text="When it was sent; null: not yet.")
    columns = serializers.ListField(child=serializers.CharField())
    mapping = serializers.DictField(child=serializers.CharField(), help_text=MAPPING_HELP)
    template = serializers.CharField(help_text="Text to speak with {column} variables (empty: none).")
    preset = serializers.IntegerField(source="preset_id", allow_null=True)
    rows = serializers.IntegerField(source="row_count")


class RowJobSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Job.Status.choices)
    error_category = serializers.CharField()
    error_message = serializers.SerializerMethodField()

    def get_error_message(self, job) -> str:
        return selectors.redacted_failure(job)["error_message"]


class RowSerializer(serializers.Serializer):
    row = serializers.IntegerField(source="number", help_text="1 = the first row under the header.")
    values = serializers.DictField(child=serializers.CharField())
    job = RowJobSerializer(allow_null=True)


class BatchDetailSerializer(BatchSerializer):
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Rows by their job's status.")
    results = RowSerializer(many=True, help_text="This page's rows.")
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)


class PreviewRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    title = serializers.CharField(help_text="The video's title, when the row is valid.")
    said = serializers.CharField(help_text="The text or audio link the row will speak.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Messages keyed by field, as on the create page; empty when valid.")


class PreviewSerializer(serializers.Serializer):
    valid = serializers.BooleanField(help_text="Every row is valid and the template names real columns.")
    rows = serializers.IntegerField()
    invalid_rows = serializers.IntegerField()
    quota = serializers.DictField(child=serializers.FloatField(),
                                  help_text="What sending uses: `videos` (one unit each) and `seconds` "
                                            "(typed text's estimated video seconds).")
    template_problem = serializers.CharField()
    results = PreviewRowSerializer(many=True)


class SubmittedSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    jobs = serializers.IntegerField(help_text="Jobs created, one per row.")
    sending_now = serializers.IntegerField(help_text="Sent at once; the others wait their turn (in-flight limits).")


class RetriedSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Failed or canceled rows sent again.")


def _batch_fields(files_as: str) -> dict:
    fields = {
        "name": serializers.CharField(required=False, help_text="Defaults to the file's name."),
        "mapping": (serializers.DictField(child=serializers.CharField(), required=False, help_text=MAPPING_HELP)
                    if files_as == "json" else
                    serializers.CharField(required=False, help_text="The mapping as JSON text.")),
        "template": serializers.CharField(required=False, allow_blank=True),
        "preset": serializers.IntegerField(required=False, allow_null=True,
                                           help_text="A preset under every row (/api/v1/presets/)."),
    }
    if files_as == "json":
        fields["rows"] = serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                               help_text="The table: one object per row, column -> value.")
    else:
        fields["file"] = serializers.FileField(help_text="A CSV (UTF-8) or .xlsx whose first row names the columns.")
    return fields


BATCH_EXAMPLE = OpenApiExample(
    "Three customers, a template and a preset", request_only=True, media_type="application/json",
    value={"name": "Welcome videos", "rows": [{"name": "Ada", "voice": "nova"}, {"name": "Grace", "voice": "alloy"},
                                              {"name": "Linus", "voice": "echo"}],
           "mapping": {"voice": "voice", "title": "name"}, "template": "Welcome aboard, {name}!", "preset": 3})
