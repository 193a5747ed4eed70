"""Plain words and a fix for each failure category, shown on the job page."""

HINTS = {
    "invalid_input": "The upstream refused the inputs. Check the media links and settings, then use Duplicate and edit.",
    "auth": "The license key was refused. Ask an admin to check the team's license key, then press Retry.",
    "rate_limited": "The upstream is busy with too many requests from this license. Wait a minute and press Retry.",
    "upstream_error": "The video service had a problem on its side. Press Retry; if it keeps failing, try later.",
    "timeout": "The video took too long. Shorter clips (under 30 seconds) finish faster; press Retry.",
    "face_not_found": "No face was found. Use a photo or video where one face is large, frontal and well lit.",
    "media_unreachable": "The video service could not download a file. Check that the link is public, or upload the file instead.",
    "generation_failed": "The video could not be generated. Try other media or default settings, then Retry.",
    "interrupted": "The portal lost contact while sending this job, so it may not have been received. Press Retry to send it again.",
    "not_found": "The video service no longer knows this job. Press Retry to send it again.",
    "configuration": "The portal is not set up to send jobs yet. Ask an admin to give your team a license key.",
}


def hint_for(category: str) -> str:
    return HINTS.get(category, "") if category else ""
