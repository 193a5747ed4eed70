"""What went wrong and what to do, in words a person who never saw an API uses.

Each failure category has one short headline and a hint; where the fix depends on what
the person gave (their video, their photo, a built-in character, a link, a file, typed
text), the hint for that source replaces the general one. Everything is written once,
here; the job page, the emails and the admin show these words.
"""

# What the person gave, as they would say it.
SOURCE_WORDS = {
    "video": "your video", "image": "your photo", "character": "the built-in character",
    "audio_url": "your audio link", "audio_base64": "your audio file", "content": "your text",
}

HEADLINES = {
    "invalid_input": "The video service could not use what was sent",
    "auth": "The team's license key was refused",
    "rate_limited": "The video service is busy",
    "upstream_error": "The video service had a problem",
    "timeout": "The video took too long",
    "face_not_found": "No face could be found",
    "media_unreachable": "A file could not be downloaded",
    "generation_failed": "The video could not be made",
    "interrupted": "The portal lost contact while sending",
    "not_found": "The video service no longer knows this video",
    "configuration": "The portal is not set up to make videos yet",
}

HINTS = {
    "invalid_input": "Check the links and settings, then use Duplicate and edit to send it again.",
    "auth": "This is not something you did: ask an admin to check the team's license key, then press Retry. "
            "Admins have been told.",
    "rate_limited": "Too many videos were asked for at once with this license. Wait a minute and press Retry.",
    "upstream_error": "Press Retry; if it keeps failing, try again later.",
    "timeout": "Shorter clips (under 30 seconds) finish faster. Press Retry.",
    "face_not_found": "Use a photo or video where one face is large, frontal and well lit.",
    "media_unreachable": "Check that the link opens in a private browser window (it must be public), "
                         "or upload the file instead.",
    "generation_failed": "Try other media or the default settings, then press Retry.",
    "interrupted": "It may not have been received. Press Retry to send it again.",
    "not_found": "Press Retry to send it again.",
    "configuration": "Ask an admin to give your team a license key.",
}

# (category, source) -> a hint that fits what the person gave better than the general one.
SOURCE_HINTS = {
    ("face_not_found", "video"): "Use a video where one face is large, frontal and well lit for most of the clip.",
    ("face_not_found", "image"): "Use a photo where one face is large, frontal and well lit.",
    ("face_not_found", "character"): "The built-in character could not be animated: this is not something you "
                                     "did. Pick another character, or ask an admin to check the character list.",
    ("media_unreachable", "video"): "Check that your video link opens in a private browser window (it must be "
                                    "public), or upload the video instead.",
    ("media_unreachable", "image"): "Check that your photo link opens in a private browser window (it must be "
                                    "public), or upload the photo instead.",
    ("media_unreachable", "audio_url"): "Check that your audio link opens in a private browser window (it must "
                                        "be public), or upload the audio file instead.",
    ("invalid_input", "audio_base64"): "Check that the audio file plays on your computer (MP3 or WAV), then use "
                                       "Duplicate and edit.",
    ("invalid_input", "content"): "Check the text (it must have words to speak), then use Duplicate and edit.",
}


def sources(job) -> list[str]:
    """What the person gave: the visual source, then the audio source."""
    return [job.visual_type, job.audio_type]


def headline_for(category: str) -> str:
    return HEADLINES.get(category, "The video could not be made") if category else ""


def hint_for(category: str, job=None) -> str:
    """The hint for a failure, fitted to the job's sources when one fits better."""
    if not category:
        return ""
    for source in sources(job) if job is not None else ():
        if (category, source) in SOURCE_HINTS:
            return SOURCE_HINTS[(category, source)]
    return HINTS.get(category, "")
