"""The served certificate's expiry on /metrics and /admin, read from a real TLS server."""

import datetime
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.services.operations import served_certificate
from tests.app import test_admin
from tests.app.test_i18n import ZH
from tests.app.test_metrics import scrape, value
from tests.conftest import free_port, make_settings

UTC = datetime.UTC
# An admin logged in through the API (the admin tests' fixture).
admin = test_admin.admin


class TlsServer:
    """Answers TLS handshakes on 127.0.0.1 with a certificate valid for `hours` more (a
    negative number: expired), as Nginx would; each connection is closed after it."""

    def __init__(self, folder, hours: float):
        now = datetime.datetime.now(UTC)
        self.not_after = (now + datetime.timedelta(hours=hours)).replace(microsecond=0)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "192.0.2.10")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=3))
            .not_valid_after(self.not_after)
            .sign(key, hashes.SHA256())
        )
        (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (folder / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.handshakes = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(connection, server_side=True):
                    self.handshakes += 1
            except (OSError, ssl.SSLError):
                connection.close()

    def close(self):
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone does not
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture(autouse=True)
def fresh_cache():
    served_certificate._cache.clear()
    yield
    served_certificate._cache.clear()


@pytest.fixture
def served(tmp_path, request):
    server = TlsServer(tmp_path, request.param)
    yield server
    server.close()


@pytest.fixture
def settings(tmp_path, request):
    if "served" not in request.fixturenames:
        return make_settings(tmp_path)
    address = request.getfixturevalue("served").address
    return make_settings(tmp_path, served_certificate_address=address)


@pytest.mark.parametrize("served", [130.0], indirect=True)
def test_metrics_give_the_served_certificates_expiry(client, served):
    text = scrape(client).get_data(as_text=True)
    assert value(text, "natter_served_certificate_readable") == 1.0
    expiry = value(text, "natter_served_certificate_expiry_timestamp_seconds")
    assert expiry == served.not_after.timestamp()
    # The handshake is not repeated for every scrape.
    scrape(client)
    assert served.handshakes == 1


@pytest.mark.parametrize("served", [130.0], indirect=True)
def test_admin_page_is_quiet_while_the_certificate_has_days_left(client, admin, served):
    page = admin.client.get("/admin").get_data(as_text=True)
    assert "certificate-warning" not in page


@pytest.mark.parametrize("served", [20.5], indirect=True)
def test_admin_page_warns_two_days_before_the_certificate_expires(client, admin, served):
    page = admin.client.get("/admin").get_data(as_text=True)
    assert "certificate-warning" in page
    assert "expires in 20 hours and its renewals are failing" in page
    chinese = admin.client.get("/admin", headers=ZH).get_data(as_text=True)
    assert "本站的证书将在 20 小时后过期" in chinese


@pytest.mark.parametrize("served", [-2.0], indirect=True)
def test_admin_page_says_an_expired_certificate_is_refused(client, admin, served):
    page = admin.client.get("/admin").get_data(as_text=True)
    assert "has expired: browsers refuse the site" in page


def test_an_unreachable_web_server_is_reported_not_hidden(tmp_path, app, client):
    unreachable = make_settings(tmp_path, served_certificate_address=f"127.0.0.1:{free_port()}")
    app.config["SETTINGS"] = unreachable
    text = scrape(client).get_data(as_text=True)
    assert value(text, "natter_served_certificate_readable") == 0.0
    assert "natter_served_certificate_expiry_timestamp_seconds" not in text
    warning = served_certificate.warning(unreachable)
    assert warning["unreadable"].startswith(unreachable.served_certificate_address)


def test_no_address_no_check(client):
    text = scrape(client).get_data(as_text=True)
    assert "natter_served_certificate" not in text


def test_the_sni_name_comes_from_the_public_url_never_an_address():
    assert served_certificate.server_name("https://chat.example.com") == "chat.example.com"
    assert served_certificate.server_name("https://203.0.113.7") == ""
    assert served_certificate.server_name("https://[2001:db8::7]") == ""
    assert served_certificate.server_name("") == ""
