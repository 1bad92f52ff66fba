"""Errors that services raise and the API turns into JSON responses."""


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    status = 400


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class UnsupportedMedia(ServiceError):
    status = 415


class Unavailable(ServiceError):
    """A part the request needs is down for now; the client may retry later."""

    status = 503
