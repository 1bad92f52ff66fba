"""Blueprints, and the request parsing they share."""

from flask import request
from werkzeug.exceptions import UnsupportedMediaType

from app.services.errors import N_, InvalidInput


def json_body() -> dict:
    if not request.is_json:
        raise UnsupportedMediaType(N_("send the body as application/json"))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(N_("the body must be a JSON object"))
    return body


def int_value(value: object, name: str, required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            raise InvalidInput(N_("%(name)s is required"), name=name)
        return None
    if isinstance(value, bool):
        raise InvalidInput(N_("%(name)s must be an integer"), name=name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(N_("%(name)s must be an integer"), name=name) from None
    if not -(2**63) < number < 2**63:
        raise InvalidInput(N_("%(name)s is out of range"), name=name)
    return number
