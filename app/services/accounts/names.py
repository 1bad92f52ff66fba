"""The names people use: login usernames (any script) and free-form display names."""

import unicodedata

from app.services.errors import N_, InvalidInput

# Usernames are measured in display columns: a Chinese character is two, so "小明" (4)
# passes while "ab" (2) does not, and the longest name still fits the same field.
MIN_USERNAME_COLUMNS = 3
MAX_USERNAME_COLUMNS = 32
USERNAME_PUNCTUATION = frozenset("_.-")
# Display names: what others see beside your messages. Counted in characters after NFC.
MAX_DISPLAY_NAME_LENGTH = 40
# Characters that reorder or hide text: refused so a name cannot disguise itself or
# scramble the text around it (LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI, LRM/RLM/ALM).
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
# Format characters that emoji sequences need: zero-width (non-)joiner and the tag
# characters of subdivision flags.
ALLOWED_FORMAT = frozenset("\u200c\u200d") | frozenset(map(chr, range(0xE0020, 0xE0080)))


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _is_username_char(ch: str, first: bool) -> bool:
    category = unicodedata.category(ch)
    if category.startswith("L") or category == "Nd":
        return True
    if category in ("Mn", "Mc"):  # combining marks belong to the letter before them
        return not first
    return ch in USERNAME_PUNCTUATION


def clean_username(value: object) -> str:
    """The username as typed (NFC), or InvalidInput with the reason."""
    if not isinstance(value, str):
        raise InvalidInput(N_("username must be text"), code="username_invalid")
    name = unicodedata.normalize("NFC", value.strip())
    columns = _columns(name)
    if not MIN_USERNAME_COLUMNS <= columns <= MAX_USERNAME_COLUMNS or not all(
        _is_username_char(ch, index == 0) for index, ch in enumerate(name)
    ):
        raise InvalidInput(
            N_(
                "username must be letters or digits of any script, '_', '.' or '-', "
                "3-32 columns long (a Chinese character counts as 2)"
            ),
            code="username_invalid",
        )
    return name


def username_key(name: str) -> str:
    """The form names are compared in: NFKC case-folded, so "Alice", "alice" and the
    full-width "ａｌｉｃｅ" are one name (the case mapping of RFC 8265's UsernameCaseMapped).
    Display names are folded the same way for people search."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return folded


def clean_display_name(value: object) -> str:
    """A display name in NFC, or InvalidInput naming what is wrong."""
    if not isinstance(value, str):
        raise InvalidInput(N_("display name must be text"), code="display_name_invalid")
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise InvalidInput(N_("display name must not be empty"), code="display_name_invalid")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInput(
            N_("display name must be at most %(max)d characters"),
            code="display_name_invalid",
            max=MAX_DISPLAY_NAME_LENGTH,
        )
    for ch in name:
        if ch in BIDI_CONTROLS:
            raise InvalidInput(
                N_("display name must not contain text-direction control characters"),
                code="display_name_invalid",
            )
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or (
            category == "Cf" and ch not in ALLOWED_FORMAT
        ):
            raise InvalidInput(
                N_("display name must not contain control or invisible characters"),
                code="display_name_invalid",
            )
    return name
