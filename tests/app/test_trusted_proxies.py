"""Who the client is: X-Forwarded-For counts only on a connection from a trusted proxy.

/metrics answers loopback alone, so a believed "X-Forwarded-For: 127.0.0.1" shows as a 200.
"""

import pytest

from app import create_app
from app.config import Settings, SettingsError
from tests.conftest import make_settings

WEB_HOST = "10.89.0.10"
WORKER_HOST = "10.89.0.11"


def scrape_from(client, peer: str, forwarded_for: str):
    return client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": peer},
        headers={"X-Forwarded-For": forwarded_for},
    )


@pytest.fixture
def hosts_apart_client(tmp_path):
    settings = make_settings(tmp_path, behind_proxy=True, trusted_proxies=f"{WEB_HOST}/32")
    return create_app(settings).test_client()


def test_a_web_host_says_who_the_client_is(hosts_apart_client):
    assert scrape_from(hosts_apart_client, WEB_HOST, "127.0.0.1").status_code == 200
    assert scrape_from(hosts_apart_client, WEB_HOST, "198.51.100.4").status_code == 404


def test_another_host_cannot_choose_its_client_address(hosts_apart_client):
    assert scrape_from(hosts_apart_client, WORKER_HOST, "127.0.0.1").status_code == 404


def test_the_unix_socket_is_nginx_on_this_host(tmp_path):
    """Gunicorn names no address for a unix socket peer; only www-data may open it."""
    client = create_app(make_settings(tmp_path, behind_proxy=True)).test_client()
    assert scrape_from(client, "", "127.0.0.1").status_code == 200
    assert scrape_from(client, "", "198.51.100.4").status_code == 404


def test_a_bad_proxy_address_is_refused_at_start():
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES: 'web-1' is not an address"):
        Settings.from_env({"APP_ENV": "development", "TRUSTED_PROXIES": "10.0.0.5, web-1"})
