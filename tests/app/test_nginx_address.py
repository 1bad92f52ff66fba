"""The nginx role's site reached by a bare address (address mode) and by a name, with its
real ports 80 and 443: Nginx runs in a network namespace of this test, whose loopback
carries a documentation address (192.0.2.7, 2001:db8::7) that stands for the server's."""

import os
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.benchmarks.web_stack import write_nginx_config
from tests.conftest import stop_process

ADDRESS, ADDRESS6 = "192.0.2.7", "2001:db8::7"
NAMESPACE = f"natter-nginx-address-{os.getpid()}"


def in_namespace(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", NAMESPACE, *command],
                          capture_output=True, text=True, check=check, timeout=60)  # fmt: skip


@pytest.fixture(scope="module")
def namespace():
    subprocess.run(["ip", "netns", "add", NAMESPACE], check=True)
    try:
        in_namespace("ip", "link", "set", "lo", "up")
        in_namespace("ip", "addr", "add", f"{ADDRESS}/32", "dev", "lo")
        in_namespace("ip", "addr", "add", f"{ADDRESS6}/128", "dev", "lo", "nodad")
        yield
    finally:
        subprocess.run(["ip", "netns", "del", NAMESPACE], check=False)


@contextmanager
def nginx_for(folder, server_name: str, alt_names: str):
    """The role's own site.conf for server_name, running in the namespace."""
    overrides = {"nginx_server_name": server_name, "nginx_app_servers": [f"unix:{folder}/app.sock"]}
    ca_file = write_nginx_config(folder, 443, folder / "app.sock", folder / "hello.sock",
                                 overrides, "site.conf.j2", alt_names)  # fmt: skip
    config = folder / "nginx" / "nginx.conf"
    log = folder / "nginx-start.log"
    with log.open("w") as output:
        process = subprocess.Popen(["ip", "netns", "exec", NAMESPACE, "nginx", "-c", str(config)],
                                   stderr=output)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while curl(f"http://{ADDRESS}/").returncode != 0:  # until Nginx answers
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nginx did not start: {log.read_text()}")
            time.sleep(0.1)
        yield ca_file
    finally:
        stop_process(process)


def curl(*args: str) -> subprocess.CompletedProcess:
    return in_namespace("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                        "--max-time", "20", *args, check=False)  # fmt: skip


def test_an_address_site_redirects_plain_http_and_serves_https_without_sni(namespace, tmp_path):
    with nginx_for(tmp_path, ADDRESS, f"IP:{ADDRESS}") as ca_file:
        plain = curl(f"http://{ADDRESS}/chat?x=1")
        assert plain.stdout == f"301 https://{ADDRESS}/chat?x=1", plain.stderr
        # curl sends no SNI for an address, as browsers: the site is the default server.
        static = curl("--cacert", str(ca_file), f"https://{ADDRESS}/static/icons/natter.svg")
        assert static.returncode == 0 and static.stdout.startswith("200"), static.stderr


def test_an_ipv6_address_site_names_itself_in_brackets(namespace, tmp_path):
    with nginx_for(tmp_path, ADDRESS6, f"IP:{ADDRESS6}") as ca_file:
        plain = curl("-g", f"http://[{ADDRESS6}]/chat")
        assert plain.stdout == f"301 https://[{ADDRESS6}]/chat", plain.stderr
        static = curl(
            "-g", "--cacert", str(ca_file), f"https://[{ADDRESS6}]/static/icons/natter.svg"
        )
        assert static.returncode == 0 and static.stdout.startswith("200"), static.stderr


def test_a_named_site_refuses_tls_by_address_and_redirects_it_to_the_name(namespace, tmp_path):
    with nginx_for(tmp_path, "chat.test", "DNS:chat.test") as ca_file:
        plain = curl(f"http://{ADDRESS}/chat")
        assert plain.stdout == "301 https://chat.test/chat", plain.stderr
        by_address = curl("-k", f"https://{ADDRESS}/")
        assert by_address.returncode == 35, by_address  # the handshake is refused
        by_name = curl("--cacert", str(ca_file), "--resolve", f"chat.test:443:{ADDRESS}",
                       "https://chat.test/static/icons/natter.svg")  # fmt: skip
        assert by_name.stdout.startswith("200"), by_name.stderr
