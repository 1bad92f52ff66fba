"""Errors: every /api/ error is JSON {"error", "code"}; pages get a page in the person's language.

`error` is text for people, in their language (it may change with a translation); `code`
is the stable, machine-readable reason that scripts and clients branch on.
"""

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext, ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.services import metrics
from app.services.errors import N_, ServiceError

log = logging.getLogger(__name__)

# Our own words for the HTTP errors that werkzeug raises with its English descriptions.
HTTP_MESSAGES = {
    400: (N_("the request is not valid"), "bad_request"),
    401: (N_("log in first"), "login_required"),
    403: (N_("you may not do that"), "forbidden"),
    404: (N_("not found"), "not_found"),
    405: (N_("this method is not allowed here"), "method_not_allowed"),
    413: (N_("the upload is too large"), "too_large"),
    415: (N_("send the body as application/json"), "unsupported_media_type"),
    500: (N_("internal error"), "internal_error"),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/uploads/")


def translate(error: ServiceError) -> str:
    if isinstance(error.message, tuple):
        singular, plural = error.message
        params = dict(error.params)
        return ngettext(singular, plural, params.pop("num", 0), **params)
    return gettext(error.message, **error.params)


def json_error(text: str, code: str, status: int):
    response = jsonify(error=text, code=code)
    response.status_code = status
    return response


def _http_message(error: HTTPException) -> tuple[str, str]:
    status = error.code or 500
    default, code = HTTP_MESSAGES.get(status, (None, f"http_{status}"))
    if error.description and error.description != type(error).description:
        return gettext(error.description), code  # our own words, marked with N_ where raised
    if default is None:
        return error.name, code
    return gettext(default), code


def error_page(status: int, message: str):
    try:
        return render_template("error.html", status=status, message=message), status
    except Exception:  # noqa: BLE001 - a broken page must not hide the original error
        log.exception("the error page failed to render")
        return InternalServerError()


def register(app) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return json_error(translate(error), error.code, error.status)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        text = gettext("CSRF check failed: the page's security token is missing or expired")
        if not _wants_json():
            return error_page(400, text)
        return json_error(text, "csrf_failed", 400)

    @app.errorhandler(429)
    def rate_limited(error):
        metrics.RATE_LIMIT_HITS.labels(metrics.current_route()).inc()
        text = gettext("too many requests: limit %(limit)s", limit=error.description)
        response = json_error(text, "rate_limited", 429)
        limit = getattr(error, "limit", None)
        if limit is not None:
            response.headers["Retry-After"] = str(limit.limit.get_expiry())
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        text, code = _http_message(error)
        if not _wants_json():
            if error.code and error.code < 400:
                return error
            return error_page(error.code or 500, text)
        response = json_error(text, code, error.code or 500)
        for name in ("Allow", "Retry-After"):
            if error.get_headers() and dict(error.get_headers()).get(name):
                response.headers[name] = dict(error.get_headers())[name]
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        # "database is locked" past the busy timeout, "database or disk is full".
        log.error("database error on %s %s: %s", request.method, request.path, error.orig)
        if not _wants_json():
            return InternalServerError()
        return jsonify(error="the database is busy or full; nothing was saved, try again"), 503

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return error_page(500, gettext("internal error"))
        return json_error(gettext("internal error"), "internal_error", 500)
