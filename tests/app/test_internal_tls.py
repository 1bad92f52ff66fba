"""The hops of hosts apart over TLS, on loopback: Nginx -> Gunicorn (HTTPS on its socket,
verified as natter-app) and the app and worker -> Redis (TLS port only), each against a
private CA, as site.yml sets them. A chat works through them; a server the CA did not
sign, or under another name, is refused."""

import ssl
import subprocess
import time

import pytest
import redis
import requests

from tests.benchmarks.internal_tls import https_unix_status, make_internal_tls
from tests.benchmarks.web_stack import web_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with web_stack(tmp_path_factory.mktemp("internal-tls"), internal_tls=True) as running:
        yield running


def test_a_message_crosses_the_tls_hops_and_arrives(stack):
    alice, bob = stack.user("tls-alice"), stack.user("tls-bob")
    conversation = alice.post("/api/chat/conversations", participants=["tls-bob"]).json()["id"]
    sent = alice.post("/api/chat/messages", conversation_id=conversation, content="over tls")
    assert sent.status_code == 201, sent.text
    page = bob.http.get(
        f"{stack.base_url}/api/chat/messages", params={"conversation_id": conversation}, timeout=20
    )
    assert [message["content"] for message in page.json()["messages"]] == ["over tls"]
    health = alice.http.get(f"{stack.base_url}/healthz", timeout=20).json()
    assert health["redis"] == "ok", health


def test_clients_of_another_ca_are_refused_by_gunicorn_and_redis(stack, tmp_path):
    other = make_internal_tls(tmp_path / "other", ca_name="Another CA")
    socket_path = stack.uploads_dir.parent / "app-1.sock"
    assert https_unix_status(socket_path, stack.internal_tls) == 200
    with pytest.raises(ssl.SSLCertVerificationError):
        https_unix_status(socket_path, other)
    url = stack.app_env["REDIS_URL"]
    assert redis.Redis.from_url(url).ping()
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        redis.Redis.from_url(
            url.replace(str(stack.internal_tls.ca_file), str(other.ca_file))
        ).ping()
    plain = url.replace("rediss://", "redis://", 1).split("?", 1)[0]
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(plain, socket_timeout=5).ping()


def test_nginx_refuses_an_app_server_under_another_name(stack):
    """Last: it changes Nginx's configuration (the name it expects) and reloads it."""
    nginx_dir = stack.uploads_dir.parent / "nginx"
    for snippet in (nginx_dir / "natter-proxy.conf", nginx_dir / "site.conf"):
        snippet.write_text(
            snippet.read_text().replace(
                "proxy_ssl_name natter-app;", "proxy_ssl_name natter-other;"
            )
        )
    assert "natter-other" in (nginx_dir / "natter-proxy.conf").read_text()
    subprocess.run(
        ["nginx", "-e", "stderr", "-c", str(nginx_dir / "nginx.conf"), "-s", "reload"], check=True
    )
    deadline, status = time.monotonic() + 60, None
    while time.monotonic() < deadline and status != 502:
        status = requests.get(
            f"{stack.base_url}/login", verify=str(stack.ca_file), timeout=20
        ).status_code
        time.sleep(0.2)
    assert status == 502
    assert "upstream SSL certificate does not match" in (nginx_dir / "error.log").read_text()
