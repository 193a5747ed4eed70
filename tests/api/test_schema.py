"""The OpenAPI schema and its docs page: schemathesis runs the schema against the live
server over real HTTP (with a real token and real jobs) and finds no 5xx and no answer
that breaks the schema; the docs page loads only this portal's files and no inline script."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile

pytestmark = pytest.mark.django_db(transaction=True)
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
        live_server, alice, bob, token_for, make_job, characters, media_root, settings, tmp_path):
    settings.API_RATE_PER_TOKEN = "100000/minute"
    done = make_job(alice, status="done", archive_status="done", video_url="https://example.com/r.mp4")
    done.archive_file.save("r.mp4", ContentFile(b"MP4"), save=False)
    done.poster_file.save("r.jpg", ContentFile(b"JPEG"), save=True)
    make_job(alice, status="failed", error_category="auth", error_message="refused")
    make_job(bob)
    row, token = token_for(alice)
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30)
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    (tmp_path / "schema.json").write_bytes(schema.content)
    cli = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [str(cli), "run", str(tmp_path / "schema.json"), "--url", live_server.url, "--checks", CHECKS,
         "--header", f"Authorization: Bearer {token}", "--max-examples", "6", "--seed", "14",
         "--phases", "examples,fuzzing", "--generation-database", "none", "--workers", "1", "--no-color",
         "--exclude-operation-id", "voices_sample", "--request-timeout", "20"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert re.search(r"\b2[0-9] operations? (tested|selected)|Operations:\s+2[0-9]", run.stdout), run.stdout[-3000:]
    assert token not in run.stdout or "Authorization" in run.stdout  # (sanity: the run used the token)


def test_the_docs_page_loads_only_local_files_and_no_inline_script(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Content-Security-Policy" in response.headers
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(assets) == 4 and not re.search(r'(?:src|href)="(?:https?:)?//', html)
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset


def test_the_schema_documents_the_nine_methods():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    create = schema["paths"]["/api/v1/jobs/"]["post"]
    examples = create["requestBody"]["content"]["application/json"]["examples"]
    assert len(examples) == 9
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"visual_source", "audio_source", "voice"} <= set(
        schema["components"]["schemas"]["CreateJobJsonRequest"]["properties"])
