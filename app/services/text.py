"""What text from people may contain: Unicode scalar values only, NFC, no stray controls."""

import unicodedata

from app.services.errors import N_, InvalidInput

# Line breaks and tabs belong in messages; every other C0/C1 control character is refused.
ALLOWED_CONTROLS = frozenset("\n\t")


def clean(value: str) -> str:
    """NFC-normalised `value`, or InvalidInput if it cannot be text a person wrote."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(N_("the text is not valid Unicode"), code="invalid_text") from None
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS:
            raise InvalidInput(
                N_("the text contains a control character (U+%(code_point)s)"),
                code="invalid_text",
                code_point=f"{ord(char):04X}",
            )
    return value


def single_line(value: str) -> str:
    """`value` cleaned, and refused if it breaks lines or holds a tab (titles)."""
    value = clean(value)
    if any(char in ALLOWED_CONTROLS for char in value):
        raise InvalidInput(N_("a title must be a single line"), code="invalid_text")
    return value
