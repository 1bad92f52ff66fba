"""Prometheus metrics: what the app counts, who may read them, and the /metrics text.

Gunicorn runs several processes and the transcoding workers are processes of their own.
With PROMETHEUS_MULTIPROC_DIR set (the chat_app role sets it for every unit), each process
writes its samples to files in that folder and a scrape sums them, whichever Gunicorn
worker answers it. Without it (tests, `make dev`) the samples of this process are served.
"""

import ipaddress
import os
import time

# A command run while the units are stopped (a migration, an admin command) finds no
# samples folder; it then keeps its samples to itself instead of failing at import.
if not os.path.isdir(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "/"):
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR")

from flask import g, request  # noqa: E402 - after the environment check above
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Methods the app serves; anything else is counted as "other" so labels stay few.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUESTS = Counter(
    "natter_http_requests_total",
    "HTTP requests answered, by method, route (the URL rule, not the URL) and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "natter_http_request_duration_seconds",
    "Time until the response (for event streams: until the stream starts), by route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UPLOADS = Counter("natter_voice_uploads_total", "Voice recordings received and stored.")
UPLOAD_BYTES = Counter("natter_voice_upload_bytes_total", "Bytes of voice recordings stored.")
TRANSCODE_SECONDS = Histogram(
    "natter_transcode_duration_seconds",
    "ffmpeg transcode time by output format (m4a, mp3) and outcome (ok, error).",
    ["output", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
OPEN_STREAMS = Gauge(
    "natter_open_event_streams",
    "Server-Sent Events streams open now, over every Gunicorn worker.",
    multiprocess_mode="livesum",
)
RATE_LIMIT_HITS = Counter(
    "natter_rate_limit_hits_total", "Requests refused with 429, by route.", ["route"]
)


def init_app(app) -> None:
    """Counts every request by route and status, and times it."""

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response):
        method = request.method if request.method in KNOWN_METHODS else "other"
        route = current_route()
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        started = g.pop("metrics_started", None)
        if started is not None:
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
        return response


def observe_transcode(output: str, outcome: str, started: float) -> None:
    TRANSCODE_SECONDS.labels(output, outcome).observe(time.perf_counter() - started)


def current_route() -> str:
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def allowed_networks(setting: str) -> list:
    """Loopback always, plus the comma-separated networks of METRICS_ALLOWED_NETWORKS."""
    networks = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
    return networks + [
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    ]


def may_read(remote_addr: str | None, setting: str) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in allowed_networks(setting))


def exposition(health: dict, queue_depth: int | None, certificate=None) -> bytes:
    """Every process's samples, then the values read at scrape time (health, queue, the
    served certificate: operations.served_certificate, None when not checked)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry = REGISTRY
    now = CollectorRegistry()
    now.register(_ScrapeTime(health, queue_depth, certificate))
    return generate_latest(registry) + generate_latest(now)


class _ScrapeTime:
    """Values measured when Prometheus asks: whether the database and Redis answer, how
    many transcode jobs wait, and when the served certificate expires."""

    def __init__(self, health: dict, queue_depth: int | None, certificate=None):
        self.health, self.queue_depth, self.certificate = health, queue_depth, certificate

    def collect(self):
        up = GaugeMetricFamily(
            "natter_dependency_up",
            "1 when the dependency answers (the same checks as /healthz); Redis only if used.",
            labels=["dependency"],
        )
        for dependency in ("database", "redis"):
            state = self.health.get(dependency, "disabled")
            if state != "disabled":
                up.add_metric([dependency], 1.0 if state == "ok" else 0.0)
        yield up
        if self.queue_depth is not None:
            yield GaugeMetricFamily(
                "natter_transcode_queue_depth",
                "Transcode jobs waiting in the Redis queue.",
                value=self.queue_depth,
            )
        if self.certificate is not None:
            yield from _certificate_families(self.certificate)


def _certificate_families(certificate):
    yield GaugeMetricFamily(
        "natter_served_certificate_readable",
        "1 when a TLS handshake with the site's web server returned its certificate.",
        value=0.0 if certificate.not_after is None else 1.0,
    )
    if certificate.not_after is not None:
        yield GaugeMetricFamily(
            "natter_served_certificate_expiry_timestamp_seconds",
            "When the certificate the site serves expires (seconds since the epoch).",
            value=certificate.not_after,
        )
