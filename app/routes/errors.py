"""Every /api/ error is JSON {"error": ...} with its status, never an HTML page."""

import logging

from flask import jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.services import metrics
from app.services.errors import ServiceError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/uploads/")


def register(app) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return jsonify(error=error.message), error.status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if not _wants_json():
            return error
        return jsonify(error=f"CSRF check failed: {error.description}"), 400

    @app.errorhandler(429)
    def rate_limited(error):
        metrics.RATE_LIMIT_HITS.labels(metrics.current_route()).inc()
        response = jsonify(error=f"too many requests: limit {error.description}")
        response.status_code = 429
        limit = getattr(error, "limit", None)
        if limit is not None:
            response.headers["Retry-After"] = str(limit.limit.get_expiry())
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if not _wants_json():
            return error
        response = jsonify(error=error.description)
        response.status_code = error.code or 500
        for name in ("Allow", "Retry-After"):
            if error.get_headers() and dict(error.get_headers()).get(name):
                response.headers[name] = dict(error.get_headers())[name]
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return InternalServerError()
        return jsonify(error="internal error"), 500
