"""The NavTalk Video Synthesis API contract, defined once.

Everything the portal, the local engine, the templates and the benchmarks know about
NavTalk's `/generate` and `/query_status` comes from here: the field names, the eleven
voices (with the description people see), the advanced parameters' ranges and defaults,
the nine methods, the task statuses and the failure categories. No ORM, no Django
settings, no third-party imports: any process may import it cheaply.
"""

from dataclasses import dataclass
from enum import StrEnum

# --- fields of POST /generate ----------------------------------------------------------

VISUAL_FIELDS = ("video_url", "image_url", "character_name")
AUDIO_FIELDS = ("audio_url", "audio_base64", "content")

# The 11 voices of `voice` (with `content`), with the words people see beside them.
VOICES: dict[str, str] = {
    "alloy": "Neutral and balanced; a safe default.",
    "ash": "Clear and direct, slightly firm.",
    "ballad": "Soft and melodic, storytelling.",
    "coral": "Warm and friendly.",
    "echo": "Calm, measured male voice.",
    "fable": "Expressive, British-accented narrator.",
    "onyx": "Deep and authoritative.",
    "nova": "Bright, energetic female voice.",
    "sage": "Gentle and thoughtful.",
    "shimmer": "Light and upbeat.",
    "verse": "Dynamic and dramatic.",
}


@dataclass(frozen=True)
class NumberParam:
    """An advanced parameter taking a whole number in [low, high]."""

    name: str
    low: int
    high: int
    default: int
    label: str
    help: str


NUMBER_PARAMS: dict[str, NumberParam] = {p.name: p for p in (
    NumberParam("bbox_shift", -9, 9, 0, "Mouth openness (bbox_shift)",
                "Shifts the face crop: positive opens the mouth more, negative less."),
    NumberParam("extra_margin", 0, 50, 10, "Chin margin (extra_margin)",
                "Extra room below the face: more chin and neck take part in the blend."),
    NumberParam("left_cheek_width", 50, 150, 90, "Left cheek blend (left_cheek_width)",
                "Width of the blended region on the left cheek."),
    NumberParam("right_cheek_width", 50, 150, 90, "Right cheek blend (right_cheek_width)",
                "Width of the blended region on the right cheek."),
)}

PARSING_MODES: dict[str, str] = {
    "jaw": "Jaw — blend along the jawline (default)",
    "raw": "Raw — no jaw parsing",
}
PARSING_MODE_DEFAULT = "jaw"

# Advanced parameter -> default. Only values moved away from the default are sent.
PARAM_DEFAULTS: dict[str, int | str] = {
    **{name: p.default for name, p in NUMBER_PARAMS.items()},
    "parsing_mode": PARSING_MODE_DEFAULT,
}
PARAM_FIELDS = tuple(PARAM_DEFAULTS)
GENERATE_FIELDS = ("license", *VISUAL_FIELDS, *AUDIO_FIELDS, "voice", *PARAM_FIELDS)

# --- the nine methods -------------------------------------------------------------------

CIRCLED = "①②③④⑤⑥⑦⑧⑨"


@dataclass(frozen=True)
class Method:
    number: int  # NavTalk's numbering, 1–9
    visual: str  # "video" | "image" | "character"
    audio: str  # one of AUDIO_FIELDS

    @property
    def symbol(self) -> str:
        return CIRCLED[self.number - 1]


# NavTalk's documentation numbers them in this order (video, then photo, then character).
METHODS: tuple[Method, ...] = (
    Method(1, "video", "audio_url"), Method(2, "video", "audio_base64"), Method(3, "video", "content"),
    Method(4, "image", "content"), Method(5, "image", "audio_url"), Method(6, "image", "audio_base64"),
    Method(7, "character", "audio_url"), Method(8, "character", "audio_base64"), Method(9, "character", "content"),
)


def method_for(visual: str, audio: str) -> Method:
    return next(m for m in METHODS if m.visual == visual and m.audio == audio)


VISUAL_FIELD_FOR = {"video": "video_url", "image": "image_url", "character": "character_name"}

# --- GET /query_status ------------------------------------------------------------------

STATUSES = ("started", "processing", "done", "failed")


class Failure(StrEnum):
    """Why a job failed. Travels as this code (the local engine sends it as `code` in a
    failed reply; HTTP statuses map onto it), never inferred from a message's words."""

    INVALID_INPUT = "invalid_input"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    UPSTREAM_ERROR = "upstream_error"
    TIMEOUT = "timeout"
    FACE_NOT_FOUND = "face_not_found"
    MEDIA_UNREACHABLE = "media_unreachable"
    GENERATION_FAILED = "generation_failed"
    INTERRUPTED = "interrupted"
    NOT_FOUND = "not_found"
    CONFIGURATION = "configuration"

    @property
    def label(self) -> str:
        return FAILURE_LABELS[self]


FAILURE_LABELS = {
    Failure.INVALID_INPUT: "Invalid input",
    Failure.AUTH: "License rejected",
    Failure.RATE_LIMITED: "Rate limited",
    Failure.UPSTREAM_ERROR: "Upstream error",
    Failure.TIMEOUT: "Timed out",
    Failure.FACE_NOT_FOUND: "Face not found",
    Failure.MEDIA_UNREACHABLE: "Media unreachable",
    Failure.GENERATION_FAILED: "Generation failed",
    Failure.INTERRUPTED: "Interrupted while submitting",
    Failure.NOT_FOUND: "Task unknown upstream",
    Failure.CONFIGURATION: "Configuration",
}

# The failure codes an upstream may send in a failed `/query_status` reply's `code`.
UPSTREAM_FAILURE_CODES = frozenset({
    Failure.INVALID_INPUT, Failure.AUTH, Failure.FACE_NOT_FOUND, Failure.MEDIA_UNREACHABLE,
    Failure.GENERATION_FAILED, Failure.TIMEOUT,
})


def failure_from_code(code) -> Failure:
    """The category a failed reply's `code` names; anything else is generation_failed."""
    try:
        failure = Failure(code) if isinstance(code, str) else None
    except ValueError:
        failure = None
    return failure if failure in UPSTREAM_FAILURE_CODES else Failure.GENERATION_FAILED
