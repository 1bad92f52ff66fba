"""Blueprints, and the request parsing they share."""

import re
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from app.services import text
from app.services.errors import N_, InvalidInput

# The largest JSON body: a 4,000-character message escaped as \uXXXX fits many times over.
MAX_JSON_BYTES = 256 * 1024
# No request of the API nests deeper than a list inside an object.
MAX_JSON_DEPTH = 8
TOO_DEEP = N_("JSON may nest at most %(max)d levels")
INTEGER = re.compile(r"-?[0-9]+")
# Ids, cursors and counts are INTEGER columns: 32-bit on PostgreSQL, which refuses a
# larger parameter (a 500). Numbers outside are a 400 here, and no route in a path.
SMALLEST_INTEGER, LARGEST_INTEGER = -(2**31), 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<row_id:name>` in a route: a non-negative id that fits the id columns."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - Werkzeug's name
        super().__init__(map, *args, max=LARGEST_INTEGER, **kwargs)


def register_converters(app: Flask) -> None:
    app.url_map.converters["row_id"] = RowIdConverter


def json_body() -> dict:
    """The request's JSON object with every string cleaned (see app.services.text)."""
    if not request.is_json:
        raise UnsupportedMediaType(N_("send the body as application/json"))
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge(N_("the request is too large"))
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise InvalidInput(TOO_DEEP, max=MAX_JSON_DEPTH) from None
    if not isinstance(body, dict):
        raise InvalidInput(N_("the body must be a JSON object"))
    return _cleaned(body, depth=1)


def _cleaned(value, depth: int):
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(TOO_DEEP, max=MAX_JSON_DEPTH)
    if isinstance(value, str):
        return text.clean(value)
    if isinstance(value, list):
        return [_cleaned(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {text.clean(key): _cleaned(item, depth + 1) for key, item in value.items()}
    return value


def int_value(value: object, name: str, required: bool = True) -> int | None:
    """A JSON integer, or a string of ASCII digits; 8.9, "8.9", "８" and true are refused."""
    if value is None or value == "":
        if required:
            raise InvalidInput(N_("%(name)s is required"), name=name)
        return None
    if isinstance(value, bool) or not (
        isinstance(value, int) or isinstance(value, str) and INTEGER.fullmatch(value)
    ):
        raise InvalidInput(N_("%(name)s must be an integer"), name=name)
    # A string too long to be in range is not parsed: int() of a huge one is slow.
    number = value if isinstance(value, int) else int(value) if len(value) <= 11 else None
    if number is None or not SMALLEST_INTEGER <= number <= LARGEST_INTEGER:
        raise InvalidInput(N_("%(name)s is out of range"), name=name)
    return number


def local_path(value: object, default: str) -> str:
    """`value` if it is a path on this site, else `default`: never a way to another site.

    Browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil.example" and
    "/\t/evil.example" would leave the site; anything with them, or "//", is refused.
    """
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value)
    ):
        return default
    parts = urlsplit(value)
    return default if parts.scheme or parts.netloc else value
