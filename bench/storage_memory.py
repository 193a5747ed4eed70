"""Memory of the archive path on S3: a result of SIZE MB is fetched over loopback HTTP with
the SSRF-safe fetcher into a temporary file (jobs.archive does this), streamed into a
SeaweedFS bucket (lib.storage.upload: multipart), then read back whole and by a range as
the result views serve it (lib.storage.iter_range). Each size runs in a fresh process;
prints its peak RSS, which should not grow with the size (a 500 MB result archives with
flat memory):

    size_mb=… peak_rss_mb=… baseline_rss_mb=… upload_s=… read_s=… calib_ms=… load1=…

    python -m bench.storage_memory [--sizes 20,500]
"""

import argparse
import http.server
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import _common as c
from bench.seaweed import SeaweedFS

CHILD = "--child"


def child(size_mb: int, endpoint: str, key: str, secret: str, bucket: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navtalk_portal.settings")
    import django

    django.setup()
    from storages.backends.s3 import S3Storage

    from lib import storage as stored
    from lib.fetch import fetch_to_file
    from lib.storage import s3_options

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(dir=c.VAR) as tmp:
        source = Path(tmp) / "served.bin"
        with open(source, "wb") as out:
            block = os.urandom(2**20)
            for _ in range(size_mb):
                out.write(block)
        handler = type("H", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=tmp))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_port}/served.bin"
        store = S3Storage(**s3_options(endpoint_url=endpoint, bucket=bucket, access_key=key, secret_key=secret,
                                       region="us-east-1"))
        start = time.monotonic()
        fetched = fetch_to_file(url, Path(tmp) / "video.mp4", max_bytes=2**40, timeout=600,
                                allowed=(f"http://127.0.0.1:{httpd.server_port}",))
        fetched_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        name = stored.upload(store, f"results/{size_mb}.mp4", fetched.path)
        upload_s = time.monotonic() - start
        uploaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.monotonic()
        total = sum(len(chunk) for chunk in stored.iter_range(store, name))
        total += sum(len(chunk) for chunk in stored.iter_range(store, name, 10 * 2**20, 2**20))
        read_s = time.monotonic() - start
        httpd.shutdown()
    assert total == size_mb * 2**20 + 2**20, total
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(c.keyvals({"size_mb": size_mb, "peak_rss_mb": peak, "baseline_rss_mb": baseline,
                     "after_fetch_rss_mb": fetched_rss, "after_upload_rss_mb": uploaded_rss, "upload_s": upload_s,
                     "read_s": read_s, **c.machine()}), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        child(int(sys.argv[2]), *sys.argv[3:7])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,500")
    args = parser.parse_args()
    c.VAR.mkdir(parents=True, exist_ok=True)
    server = SeaweedFS.start(Path(tempfile.mkdtemp(prefix="weed-", dir=c.VAR)))
    try:
        bucket = server.create_bucket(f"memory-{os.getpid()}")
        for size in (int(x) for x in args.sizes.split(",")):
            subprocess.run([sys.executable, "-m", "bench.storage_memory", CHILD, str(size), server.endpoint_url,
                            server.access_key, server.secret_key, bucket], cwd=c.ROOT, check=True,
                           env=dict(os.environ, VAR_DIR=str(c.VAR / "storage_memory")))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
