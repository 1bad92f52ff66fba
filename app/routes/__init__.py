"""Blueprints, and the request parsing they share."""

from flask import request
from werkzeug.exceptions import UnsupportedMediaType

from app.services.errors import InvalidInput


def json_body() -> dict:
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def int_value(value: object, name: str, required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be an integer") from None
    if not -(2**63) < number < 2**63:
        raise InvalidInput(f"{name} is out of range")
    return number
