"""lib.storage and lib.ranged.ranged_storage_response on both backends: the filesystem and
a real S3-compatible server (SeaweedFS, tests/conftest.py `seaweedfs`)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.test import RequestFactory

from lib import storage as stored
from lib.ranged import ranged_storage_response
from lib.storage import s3_options

pytestmark = pytest.mark.storage
DATA = bytes(range(256)) * 400  # 102 400 bytes


@pytest.fixture(params=["filesystem", "s3"])
def store(request, tmp_path):
    if request.param == "filesystem":
        return FileSystemStorage(location=tmp_path / "fs")
    from storages.backends.s3 import S3Storage

    server = request.getfixturevalue("seaweedfs")
    bucket = server.create_bucket(f"lib-{tmp_path.name[-20:].lower().replace('_', '-')}")
    return S3Storage(**s3_options(endpoint_url=server.endpoint_url, bucket=bucket, access_key=server.access_key,
                                  secret_key=server.secret_key, region="us-east-1", location="media"))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def get(store, name, **headers):
    request = RequestFactory().get("/x", headers=headers)
    return ranged_storage_response(request, store, name, content_type="video/mp4", cache_control="private")


def test_ranges_are_served_from_the_storage(store):
    name = store.save("results/a.mp4", ContentFile(DATA))
    whole = get(store, name)
    assert whole.status_code == 200 and whole["Content-Length"] == str(len(DATA)) and body(whole) == DATA
    assert whole["Accept-Ranges"] == "bytes" and whole["ETag"]

    part = get(store, name, Range="bytes=1000-1999")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 1000-1999/{len(DATA)}"
    assert body(part) == DATA[1000:2000]
    assert body(get(store, name, Range="bytes=-7")) == DATA[-7:]
    assert body(get(store, name, Range=f"bytes={len(DATA) - 3}-")) == DATA[-3:]
    outside = get(store, name, Range=f"bytes={len(DATA)}-")
    assert outside.status_code == 416 and outside["Content-Range"] == f"bytes */{len(DATA)}"
    same = get(store, name, Range="bytes=0-9", **{"If-Range": whole["ETag"]})
    assert same.status_code == 206 and body(same) == DATA[:10]
    stale = get(store, name, Range="bytes=0-9", **{"If-Range": '"another-version"'})
    assert stale.status_code == 200 and body(stale) == DATA


def test_a_missing_file_is_file_not_found(store, tmp_path):
    with pytest.raises(FileNotFoundError):
        get(store, "results/none.mp4")
    with pytest.raises(FileNotFoundError):
        stored.download(store, "results/none.mp4", tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_upload_and_download_round_trip_and_replace(store, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(DATA * 100)  # 10 MB: more than one multipart chunk on S3
    name = stored.upload(store, "results/big.bin", source)
    assert name == "results/big.bin"
    out = stored.download(store, name, tmp_path / "copy" / "big.bin")
    assert out.read_bytes() == source.read_bytes()
    info = stored.stat(store, name)
    assert info.size == len(DATA) * 100

    source.write_bytes(b"second version")
    assert stored.upload(store, "results/big.bin", source) == "results/big.bin"  # replaced, not renamed
    assert b"".join(stored.iter_range(store, name)) == b"second version"
    assert b"".join(stored.iter_range(store, name, 7, 3)) == b"ver"


def test_the_s3_bucket_is_private_and_links_are_presigned(seaweedfs, tmp_path):
    import requests
    from storages.backends.s3 import S3Storage

    bucket = seaweedfs.create_bucket("private-check")
    s3 = S3Storage(**s3_options(endpoint_url=seaweedfs.endpoint_url, bucket=bucket, access_key=seaweedfs.access_key,
                                secret_key=seaweedfs.secret_key, region="us-east-1", url_max_age=60))
    name = s3.save("uploads/x.jpg", ContentFile(b"jpeg bytes"))
    assert requests.get(f"{seaweedfs.endpoint_url}/{bucket}/uploads/x.jpg", timeout=10).status_code == 403
    link = s3.url(name)
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=60" in link
    assert requests.get(link, timeout=10).content == b"jpeg bytes"
