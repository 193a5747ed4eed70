"""Random secrets for a local install, made once and kept in `VAR_DIR/secrets.env`.

`make run` (and any development start: DEBUG or PORTAL_LOCAL) needs a SECRET_KEY, the
Fernet keys that encrypt license keys at rest, and a license for the embedded engine.
None may be derivable from anything public, so the first start draws them at random
and writes them, readable by the owner only, to `VAR_DIR/secrets.env` (outside git:
`var/` is ignored, and kept out of images by .dockerignore). Later starts read them
back; a value set in the environment or `.env` always wins. Production (DEBUG=False
without PORTAL_LOCAL) never reads or writes this file: it must configure its secrets.

Several processes may start at once (honcho starts four): the file is written to a
temporary name and linked into place, so exactly one set of secrets wins and every
process reads that one. Imports nothing from Django (settings import it).
"""

import base64
import hashlib
import os
import secrets
from pathlib import Path

FILENAME = "secrets.env"
# What `make run` used before secrets were random: a constant in the source. A database
# made then holds license keys encrypted with a key derived from it; that key is kept as
# a decrypt-only fallback (never used to encrypt) until `manage.py rotate_license_keys`
# re-encrypts them.
LEGACY_SECRET_KEY = "django-insecure-dev-only-set-SECRET_KEY"


def fernet_key_from(secret: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"license-keys:{secret}".encode()).digest()).decode()


def _generate(var_dir: Path) -> dict[str, str]:
    keys = [base64.urlsafe_b64encode(os.urandom(32)).decode()]
    if (var_dir / "db.sqlite3").exists():
        keys.append(fernet_key_from(LEGACY_SECRET_KEY))
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LICENSE_ENCRYPTION_KEYS": ",".join(keys),
        "ENGINE_LICENSES": "sk-local-" + secrets.token_hex(16),
    }


def _parse(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def load(var_dir: Path) -> dict[str, str]:
    """The local secrets, drawn and written on the first call."""
    path = Path(var_dir) / FILENAME
    if not path.exists():
        values = _generate(Path(var_dir))
        text = ("# Made by the first start of NavTalk Portal (navtalk_portal/local_secrets.py). Keep it secret;\n"
                "# never commit it. Values set in the environment or .env take precedence.\n"
                + "".join(f"{k}={v}\n" for k, v in values.items()))
        tmp = path.with_name(f".{FILENAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            try:
                os.link(tmp, path)  # atomic; fails if another process won the race
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    values = _parse(path.read_text())
    missing = {"SECRET_KEY", "LICENSE_ENCRYPTION_KEYS", "ENGINE_LICENSES"} - values.keys()
    if missing:
        raise RuntimeError(f"{path} lacks {', '.join(sorted(missing))}: delete it to have it made again")
    return values


if __name__ == "__main__":  # `python -m navtalk_portal.local_secrets VAR_DIR`: make them now
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "var")
    target.mkdir(parents=True, exist_ok=True)
    load(target)
    print(f"secrets kept in {target / FILENAME}")
