"""The write-up's server, reached by its bare address from another host of the test network.

The write-up (../shared/seed) served the chat at http://<IP>/chat and Chrome refused to
record there. On the session's stack host: first that failure, with the app on plain HTTP
at the host's address as the write-up ran it; then the cure, site.yml with the address as
natter_domain (a certificate for the address from the ACME CA, Pebble), where a voice
message records, uploads and plays for a second person; last, the host moves to a domain
as an operator who buys one later. Chromium runs on a container of the stack's network.

Runs after test_full_stack (pytest takes files in name order) and leaves the host on its
domain again, so the order is a matter of time only.
"""

import json
import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.chromium import (
    chromium,
    log_in,
    play_voice_message_to_end,
    record_and_send,
    register,
    start_conversation,
    trusting_ca,
    wait_until_transcoded,
)
from tests.stack.browser_host import browser_host
from tests.stack.conftest import CONTAINER, DISTRO, DOMAIN, NETWORK, in_container

pytestmark = [
    pytest.mark.timeout(2700),
    pytest.mark.skipif(
        DISTRO == "debian12",
        reason="Debian 12's Pebble (2.4) also writes the address into the certificate's "
        "common name, which certbot 5 refuses; the certbot/address Molecule scenario runs "
        "Debian 12 against Debian 13's Pebble",
    ),
]
WRITE_UP_UNIT = "natter-plain-http"
APP = "/srv/natter/current"


@contextmanager
def the_write_up_server(address: str):
    """The app on plain HTTP at the host's address, port 80, without Nginx or TLS, and its
    cookies without the Secure flag (BEHIND_PROXY off): how the write-up ran it."""
    in_container("systemctl stop nginx.service")
    try:
        in_container(
            f"systemd-run --unit {WRITE_UP_UNIT} --uid natter --gid natter"
            f" -p WorkingDirectory={APP} -p EnvironmentFile=/etc/natter/natter.env"
            " -p AmbientCapabilities=CAP_NET_BIND_SERVICE"
            f" /usr/bin/env BEHIND_PROXY=false {APP}/.venv/bin/gunicorn"
            f" --config /etc/natter/gunicorn.conf.py --bind {address}:80 --workers 1 wsgi:app"
        )
        in_container(
            "for attempt in $(seq 120); do"
            f" [ \"$(curl -s -o /dev/null -w '%{{http_code}}' http://{address}/login)\" = 200 ]"
            " && exit 0; sleep 0.5; done; exit 1"
        )
        yield f"http://{address}"
    finally:
        in_container(f"systemctl stop {WRITE_UP_UNIT}", check=False)
        in_container("systemctl start nginx.service")


def served_certificate(address: str) -> str:
    """Subject, issuer and SANs of what Nginx serves at the address, asked without SNI as
    a browser asks for an address."""
    return in_container(
        f"openssl s_client -connect {address}:443 -noservername </dev/null 2>/dev/null"
        " | openssl x509 -noout -subject -issuer -ext subjectAltName"
    )


def test_plain_http_at_the_address_refuses_to_record_and_https_at_the_address_plays(
    stack, speech_wav, tmp_path
):
    address = stack.address
    site = f"https://{address}"
    with (
        browser_host(f"{CONTAINER}-browser", NETWORK, tmp_path) as executable,
        chromium(speech_wav, nss_setup=trusting_ca(stack.pebble_root_path),
                 executable=executable) as browser,
    ):  # fmt: skip
        plain = browser.new_page()
        # Another computer's browser: the stack's port on this machine's loopback is not there.
        with pytest.raises(PlaywrightError, match="ERR_CONNECTION_REFUSED"):
            plain.goto(f"http://127.0.0.1:{stack.http_port}/")
        with the_write_up_server(address) as write_up:
            register(plain, write_up, "ada")
            register(browser.new_page(), write_up, "ben")
            start_conversation(plain, "ben")
            notice = plain.wait_for_selector("#voice-recorder .recording-unavailable")
            refused = notice.inner_text()
            insecure = plain.evaluate("[window.isSecureContext, 'mediaDevices' in navigator]")
            recordable = plain.locator("#voice-recorder button.record").count()
        assert insecure == [False, False]
        assert recordable == 0
        assert f"opened over plain HTTP at {address}" in refused
        assert f"Open https://{address}/chat instead" in refused

        stack.provision("address mode", "-e", json.dumps({"natter_domain": address}))
        stack.reached_by_address = True
        certificate = served_certificate(address)
        names = certificate.split("X509v3 Subject Alternative Name:", 1)[1].splitlines()[1]
        assert names.strip() == f"IP Address:{address}"
        assert "Pebble Intermediate CA" in certificate
        assert f"PUBLIC_URL=https://{address}\n" in in_container("cat /etc/natter/natter.env")
        invite = in_container("natter-admin invites create --uses 1 --expires 1h")
        assert invite.startswith(f"{site}/login?invite=")

        ada_context, ben_context = browser.new_context(), browser.new_context()
        for context in (ada_context, ben_context):
            context.set_default_timeout(90_000)  # a busy machine (see test_full_stack)
        ada, ben = ada_context.new_page(), ben_context.new_page()
        # An old bookmark of the write-up's address: Nginx sends it to HTTPS, same path.
        ada.goto(f"http://{address}/chat")
        assert ada.url.startswith(f"{site}/")
        log_in(ada, site, "ada")
        log_in(ben, site, "ben")
        assert ada.evaluate("window.isSecureContext") is True
        # A wide screen opens the latest conversation by itself; a click on it meanwhile
        # would open it again and replace the recorder under the test's hands.
        for person in (ada, ben):
            person.wait_for_selector("#voice-recorder button.record")
        record_and_send(ada, 3)
        ada.wait_for_selector("li[data-type=audio] .voice-player", timeout=30000)
        wait_until_transcoded(ben)
        ben.reload()  # the conversation as it is now (a tap before the transcode plays raw)
        played = play_voice_message_to_end(ben)
    assert re.fullmatch(rf"{re.escape(site)}/uploads/chat/[0-9a-f]{{32}}\.m4a", played)


def test_the_host_moves_from_its_address_to_a_domain(stack):
    """The operator buys a domain: site.yml with it serves the domain's certificate, the
    address's renewal timer stops, and old http://ADDRESS/ bookmarks lead to the domain."""
    stack.provision("address to domain")  # also when the test before it failed midway
    if not getattr(stack, "reached_by_address", False):
        pytest.fail("the host never ran in address mode: the test before this one failed")
    assert in_container("systemctl is-enabled natter-certbot.timer", check=False).strip() == (
        "disabled"
    )
    assert in_container("systemctl is-active natter-certbot.timer", check=False).strip() == (
        "inactive"
    )
    assert f"PUBLIC_URL=https://{DOMAIN}\n" in in_container("cat /etc/natter/natter.env")
    head = in_container(f"curl -sS -o /dev/null -D - http://{stack.address}/chat")
    assert head.startswith("HTTP/1.1 301")
    assert f"Location: https://{DOMAIN}/chat" in head
    served = stack.curl("-o", "/dev/null", "-w", "%{http_code}", f"https://{DOMAIN}/login")
    assert served.stdout == "200"
