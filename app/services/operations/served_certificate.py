"""The certificate the site serves: read the way a browser meets it, by a TLS handshake
with the web server (SERVED_CERTIFICATE_ADDRESS, the site's name from PUBLIC_URL as SNI),
so what /metrics and /admin report is what people get, whichever host renews it.

The handshake does not verify: an expired or untrusted certificate must still be read
and reported, not hidden behind a handshake error.
"""

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509

# One handshake per process at most this often: a certificate changes a few times a
# week, and /metrics is scraped every few seconds.
CHECK_EVERY_SECONDS = 300
# A web server that does not finish the handshake within this is reported unreadable.
HANDSHAKE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ServedCertificate:
    # Seconds since the epoch when browsers stop accepting it; None = it could not be read.
    not_after: float | None
    # Why it could not be read (the handshake's error), for /admin.
    error: str = ""

    def hours_left(self, now: float | None = None) -> float | None:
        if self.not_after is None:
            return None
        return (self.not_after - (time.time() if now is None else now)) / 3600


_cache: dict[tuple[str, str], tuple[float, ServedCertificate]] = {}
_cache_lock = threading.Lock()


def server_name(public_url: str) -> str:
    """The name a browser sends as SNI for the site: none for an address (RFC 6066)."""
    host = urlsplit(public_url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return ""


def read(address: str, name: str) -> ServedCertificate:
    """Shakes hands with address ("host:port", IPv6 in brackets) and reads the leaf."""
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(
                (host.strip("[]"), int(port)), HANDSHAKE_TIMEOUT_SECONDS
            ) as raw,
            context.wrap_socket(raw, server_hostname=name or None) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError) as error:
        return ServedCertificate(None, f"{address}: {error}")
    if not der:
        return ServedCertificate(None, f"{address}: no certificate")
    certificate = x509.load_der_x509_certificate(der)
    return ServedCertificate(certificate.not_valid_after_utc.timestamp())


def current(settings) -> ServedCertificate | None:
    """The served certificate as of at most CHECK_EVERY_SECONDS ago; None when the
    deployment does not check it (no SERVED_CERTIFICATE_ADDRESS)."""
    if not settings.served_certificate_address:
        return None
    key = (settings.served_certificate_address, server_name(settings.public_url))
    with _cache_lock:
        cached = _cache.get(key)
    if cached and time.monotonic() - cached[0] < CHECK_EVERY_SECONDS:
        return cached[1]
    certificate = read(*key)
    with _cache_lock:
        _cache[key] = (time.monotonic(), certificate)
    return certificate


def warning(settings, now: float | None = None) -> dict | None:
    """What /admin warns of: a certificate that could not be read, or one with fewer than
    CERTIFICATE_WARNING_HOURS left (then its renewals have been failing); else None."""
    certificate = current(settings)
    if certificate is None:
        return None
    if certificate.not_after is None:
        return {"unreadable": certificate.error}
    hours = certificate.hours_left(now)
    if hours >= settings.certificate_warning_hours:
        return None
    return {"hours_left": max(0, int(hours)), "expired": hours <= 0}
