"""Built-in characters: name -> image shipped beside this file (sources in README.md)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent

CHARACTERS: dict[str, dict] = {
    "navtalk.Leo": {
        "display_name": "Leo",
        "description": "Smiling presenter in an orange flight suit, head and shoulders, studio light.",
        "image": HERE / "leo.jpg",
        "preview": "characters/leo.jpg",
    },
    "navtalk.Ava": {
        "display_name": "Ava",
        "description": "Formal portrait in dress uniform, calm expression, dark studio backdrop.",
        "image": HERE / "ava.jpg",
        "preview": "characters/ava.jpg",
    },
    "navtalk.Sam": {
        "display_name": "Sam",
        "description": "Close-up, warm sepia-toned friendly face for short personal messages.",
        "image": HERE / "sam.jpg",
        "preview": "characters/sam.jpg",
    },
}


def character_image(name: str) -> Path:
    """Image file of a built-in character; KeyError if there is no such character."""
    if name not in CHARACTERS:
        raise KeyError(f"Unknown character {name!r}; choose one of: {', '.join(CHARACTERS)}")
    return CHARACTERS[name]["image"]
