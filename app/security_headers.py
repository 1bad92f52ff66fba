"""Headers every answer of the app carries, so a deployment without Nginx is not weaker.

The Nginx role sends the same ones (and hides these, so browsers never see two copies).
A view that sets one of them itself (a voice file's sandbox policy) keeps its own.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    headers = {
        "Content-Security-Policy": app.config["SETTINGS"].content_security_policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        # The page records voice messages: the microphone for this site only.
        "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    }

    @app.after_request
    def add_security_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
