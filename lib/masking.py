"""How a secret is shown when it must be shown at all: `sk-…a1b2`."""


def mask(secret: str) -> str:
    """The prefix up to the first dash (when within the first 8 characters) and the last
    four characters; a secret shorter than 8 characters shows nothing but `…`."""
    secret = secret.strip()
    prefix = secret.split("-", 1)[0] + "-" if "-" in secret[:8] else ""
    return f"{prefix}…{secret[-4:]}" if len(secret) >= 8 else "…"
