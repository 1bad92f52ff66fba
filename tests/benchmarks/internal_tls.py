"""TLS between hosts apart, on loopback: a private CA (as the internal_tls role makes one),
a certificate for the app servers' shared name, Redis on its TLS port only, and a check
that a Gunicorn speaking TLS on its unix socket answers."""

import http.client
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.conftest import free_port, status_of_get, wait_for_answer, wait_for_port

# natter_app_tls_name (group_vars/all/wiring.yml): the name Nginx verifies on every app host.
APP_TLS_NAME = "natter-app"


@dataclass
class InternalTls:
    ca_file: Path
    certificate_file: Path
    private_key_file: Path

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


def openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


def make_internal_tls(folder: Path, ca_name: str = "Natter test internal CA") -> InternalTls:
    """A CA and one server certificate for natter-app, localhost and 127.0.0.1, signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_file = folder / "ca.key", folder / "ca.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
            "-days", "2", "-subj", f"/CN={ca_name}", "-keyout", str(ca_key), "-out", str(ca_file),
            "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    key, request, certificate = folder / "host.key", folder / "host.csr", folder / "host.crt"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={APP_TLS_NAME}", "-keyout", str(key), "-out", str(request))  # fmt: skip
    extensions = folder / "host.ext"
    extensions.write_text(
        f"subjectAltName=DNS:{APP_TLS_NAME},DNS:localhost,IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n"
    )
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca_file), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(extensions),
            "-out", str(certificate))  # fmt: skip
    return InternalTls(ca_file, certificate, key)


def start_tls_redis(workdir: Path, tls: InternalTls) -> tuple[subprocess.Popen, str]:
    """redis-server with its plain port off and TLS on a free port, as the redis role sets it
    for hosts apart: (process, the rediss:// URL the chat_app role writes, database 0)."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(tls.certificate_file), "--tls-key-file", str(tls.private_key_file),
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, process)
    url = (
        f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_check_hostname=true"
        f"&ssl_ca_certs={tls.ca_file}"
    )
    redis.Redis.from_url(url).ping()
    return process, url


def https_unix_status(socket_path: Path, tls: InternalTls, path: str = "/healthz") -> int:
    """GET `path` over TLS on a unix socket, the certificate verified as natter-app."""
    raw = socket.socket(socket.AF_UNIX)
    raw.settimeout(5)
    raw.connect(str(socket_path))
    conn = http.client.HTTPConnection(APP_TLS_NAME, timeout=5)
    conn.sock = tls.context().wrap_socket(raw, server_hostname=APP_TLS_NAME)
    return status_of_get(conn, path)


def wait_for_https_unix(socket_path: Path, tls: InternalTls, process, timeout=120.0) -> None:
    what = f"{socket_path} over TLS"
    wait_for_answer(lambda: https_unix_status(socket_path, tls), what, process, timeout)
