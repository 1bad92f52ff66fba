"""X-Forwarded-* believed only from the proxies that set them (Nginx), never from anyone.

The app sits behind exactly one Nginx. Its address headers say who the person is (the
per-address rate limits, login throttling and /metrics access rely on it), so they count
only on a connection from Nginx: the unix socket (one host), loopback, or a web host's
address in TRUSTED_PROXIES (hosts apart). From anywhere else they are dropped and the
connection's own address is the client's.
"""

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
FORWARDED_KEYS = tuple(
    f"HTTP_X_FORWARDED_{name}" for name in ("FOR", "PROTO", "HOST", "PORT", "PREFIX")
)


def parse_networks(setting: str) -> list:
    """Comma-separated addresses or networks (CIDR); ValueError names a bad one."""
    networks = []
    for part in filter(None, map(str.strip, setting.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an address or network") from None
    return networks


class TrustedProxies:
    """WSGI middleware: ProxyFix (one hop) for connections from a trusted proxy."""

    def __init__(self, wsgi_app, trusted: str):
        self.direct = wsgi_app
        self.forwarded = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1)
        self.networks = [*LOOPBACK, *parse_networks(trusted)]

    def is_trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return True  # not an IP address: the unix socket, which only Nginx may open
        address = getattr(address, "ipv4_mapped", None) or address
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.is_trusted(environ.get("REMOTE_ADDR") or ""):
            return self.forwarded(environ, start_response)
        for key in FORWARDED_KEYS:
            environ.pop(key, None)
        return self.direct(environ, start_response)
