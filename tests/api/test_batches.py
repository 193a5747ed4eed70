"""Batches through the REST API over real HTTP (live server): JSON rows and a CSV upload,
the mapping/template/preset, a preview keyed by row and field with the quota it will use,
submit all or nothing through the portal's own path, per-row status in pages, retry of
failed rows, the ZIP with its manifest, and the same roles, scoping and token scopes."""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile

from accounts.models import Membership
from automation.models import Batch, Preset
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [{"name": "Ada", "voice": "nova"}, {"name": "Grace", "voice": "nobody"}, {"name": "Linus", "voice": "echo"}]


def test_json_rows_are_previewed_by_row_and_field_then_sent_all_at_once(api_for, alice, characters, media_root):
    api = api_for(alice)
    preset = Preset.objects.create(team=alice.teams.first(), name="Leo", visual_type="character",
                                   character_name="navtalk.Leo", voice="ash")
    made = api.post("batches/", json={"name": "Welcome", "rows": ROWS, "mapping": {"voice": "voice", "title": "name"},
                                      "template": "Welcome aboard, {name}!", "preset": preset.pk})
    assert made.status_code == 201, made.text
    batch = made.json()
    assert (batch["rows"], batch["columns"], batch["submitted_at"]) == (3, ["name", "voice"], None)
    preview = api.get(f"batches/{batch['id']}/preview/").json()
    assert (preview["valid"], preview["invalid_rows"], preview["quota"]["videos"]) == (False, 1, 2)
    assert preview["results"][1] == {"row": 2, "title": "", "said": "Welcome aboard, Grace!",
                                     "errors": {"voice": ["Choose one of the listed voices."]}}
    assert preview["results"][0]["errors"] == {} and preview["results"][0]["title"] == "Ada"
    refused = api.post(f"batches/{batch['id']}/submit/")
    assert refused.status_code == 400 and "fix the rows with errors" in refused.json()["errors"]["non_field_errors"][0]
    assert not Job.objects.exists()
    bad = api.session.patch(api.url(f"batches/{batch['id']}/"), json={"template": "Hi {nme}", "mapping": {"x": "y"}})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"template", "mapping"}
    # Without the voice column, the preset's voice speaks every row.
    fixed = api.session.patch(api.url(f"batches/{batch['id']}/"), json={"mapping": {"title": "name"}})
    assert fixed.status_code == 200 and fixed.json()["mapping"] == {"title": "name"}
    preview = api.get(f"batches/{batch['id']}/preview/").json()
    assert preview["valid"] and preview["quota"] == {"videos": 3, "seconds": preview["quota"]["seconds"]}
    assert preview["quota"]["seconds"] > 0
    sent = api.post(f"batches/{batch['id']}/submit/")
    assert sent.status_code == 201 and sent.json() == {"batch": batch["id"], "jobs": 3, "sending_now": 3}
    assert [j.content for j in Job.objects.order_by("id")] == [f"Welcome aboard, {n}!" for n in ("Ada", "Grace",
                                                                                                  "Linus")]
    assert api.post(f"batches/{batch['id']}/submit/").status_code == 409  # once
    page = api.get(f"batches/{batch['id']}/?limit=2").json()
    assert [r["row"] for r in page["results"]] == [1, 2] and page["counts"] == {"queued": 3} and page["next"]
    assert api.get(page["next"]).json()["results"][0]["job"]["title"] == "Linus"
    first, second, _ = Job.objects.order_by("id")
    Job.objects.filter(pk=first.pk).update(status="done", archive_status="done")
    first.refresh_from_db()
    first.archive_file.save("r.mp4", ContentFile(b"MP4-ONE"), save=True)
    Job.objects.filter(pk=second.pk).update(status="failed", error_category="timeout", error_message="Too slow")
    assert api.post(f"batches/{batch['id']}/retry/").json() == {"sent": 1}
    assert Job.objects.get(pk=second.pk).status == "queued"
    answer = api.get(f"batches/{batch['id']}/results.zip")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert archive.read("0001-ada.mp4") == b"MP4-ONE"
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [m[:3] for m in manifest[1:]] == [["1", "Ada", "Done"], ["2", "Grace", "Queued"], ["3", "Linus", "Queued"]]


def test_a_csv_upload_makes_a_batch_and_bad_tables_say_why(api_for, alice, characters):
    api = api_for(alice)
    out = io.StringIO()
    csv.writer(out).writerows([["character", "text", "voice"], ["navtalk.Leo", "Hello", "nova"]])
    made = api.post("batches/", files={"file": ("list.csv", out.getvalue().encode())}, data={"name": "From CSV"})
    assert made.status_code == 201, made.text
    assert made.json()["mapping"] == {"character": "character", "content": "text", "voice": "voice"}
    assert api.get(f"batches/{made.json()['id']}/preview/").json()["valid"] is True
    mapped = api.post("batches/", files={"file": ("list.csv", out.getvalue().encode())},
                      data={"mapping": json.dumps({"character": "character", "voice": "voice"}),
                            "template": "Hi from {character}"})
    assert mapped.status_code == 201 and mapped.json()["template"] == "Hi from {character}"
    assert api.get(f"batches/{mapped.json()['id']}/preview/").json()["results"][0]["said"] == "Hi from navtalk.Leo"
    empty = api.post("batches/", files={"file": ("e.csv", b"name\n")})
    assert empty.json() == {"errors": {"file": ["The spreadsheet has no rows under its header."]}}
    assert api.post("batches/", json={"rows": []}).status_code == 400
    assert api.post("batches/", json={"rows": [{"a": [1]}]}).json()["errors"]["rows"]


def test_roles_scopes_and_teams_hold_for_batches(api_for, alice, bob, characters, django_user_model):
    mine = api_for(alice).post("batches/", json={"rows": [{"character": "navtalk.Leo", "text": "Hi",
                                                           "voice": "nova"}]}).json()
    assert api_for(bob).get(f"batches/{mine['id']}/").status_code == 404  # another team's
    assert api_for(bob).post(f"batches/{mine['id']}/submit/").status_code == 404
    assert all(b["id"] != mine["id"] for b in api_for(bob).get("batches/").json())
    read_only = api_for(alice, scope="read")
    assert read_only.post("batches/", json={"rows": [{"a": "b"}]}).status_code == 403
    assert read_only.post(f"batches/{mine['id']}/submit/").status_code == 403
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol, role="viewer")
    viewer = api_for(carol)
    assert viewer.get(f"batches/{mine['id']}/").status_code == 200  # viewers watch
    refused = viewer.post(f"batches/{mine['id']}/submit/")
    assert refused.status_code == 403 and not Job.objects.exists()
    assert Batch.objects.get(pk=mine["id"]).submitted_at is None
