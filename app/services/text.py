"""What text from people may contain: Unicode scalar values only, NFC, no stray controls."""

import unicodedata

from app.services.errors import InvalidInput

# Line breaks and tabs belong in messages; every other C0/C1 control character is refused.
ALLOWED_CONTROLS = frozenset("\n\t")


def clean(value: str, field: str = "text") -> str:
    """NFC-normalised `value`, or InvalidInput if it cannot be text a person wrote."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} is not valid Unicode text") from None
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS:
            raise InvalidInput(f"{field} contains a control character (U+{ord(char):04X})")
    return value


def single_line(value: str, field: str) -> str:
    """`value` cleaned, and refused if it breaks lines or holds a tab (names, titles)."""
    value = clean(value, field)
    if any(char in ALLOWED_CONTROLS for char in value):
        raise InvalidInput(f"{field} must be a single line")
    return value
