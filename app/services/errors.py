"""Errors that services raise and the API turns into JSON responses.

A service raises with an English message marked by N_ (or a singular/plural pair marked
by Nn_) and its values; routes/errors.py translates it into the person's language when it
answers, as {"error": <text for people>, "code": <stable machine code>}.
"""


def N_(msgid: str) -> str:  # noqa: N802 - the gettext name for "mark now, translate later"
    """Marks a message for extraction (pybabel -k N_); translated when it is shown."""
    return msgid


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - gettext convention
    """Marks a singular/plural pair for extraction (-k Nn_:1,2), shown through ngettext."""
    return singular, plural


class ServiceError(Exception):
    status = 400
    code = "invalid_input"

    def __init__(self, message: str | tuple[str, str], code: str | None = None, **params):
        text = message if isinstance(message, str) else message[1]
        super().__init__(text % params if params else text)
        self.message = message
        self.params = params
        if code is not None:
            self.code = code


class InvalidInput(ServiceError):
    status = 400
    code = "invalid_input"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class UnsupportedMedia(ServiceError):
    status = 415
    code = "unsupported_media"


class Unavailable(ServiceError):
    """A part the request needs is down for now; the client may retry later."""

    status = 503
    code = "unavailable"
