"""site.yml on hosts apart: web, two app hosts, a worker host, a data host (PostgreSQL +
Redis) and a storage host (Ceph's RADOS Gateway), each a systemd container on a Podman
network this test makes. Nginx on the web host spreads requests over both app hosts; live
events cross between them through Redis; one app host stopping loses nothing; a redeploy
under load fails no request; voice recorded in Chromium plays from the bucket; the web host
cannot reach PostgreSQL or Redis."""

import json
import os
import re
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser.chromium import (
    chromium,
    play_voice_message_to_end,
    record_and_send,
    register,
    start_conversation,
    wait_until_transcoded,
)
from tests.conftest import ROOT
from tests.soak.checker import check
from tests.stack import soak
from tests.stack.conftest import (
    DISTRO,
    DOMAIN,
    ENV,
    EXTRA_VARS,
    IMAGE,
    podman,
    run_playbook,
    s3_settings,
    statuses_during,
    wait_for_systemd,
    write_inventory,
)
from tests.stack.test_full_stack import cookie_header, trust_pebble

PREFIX = os.environ.get("NATTER_MULTI_HOST_PREFIX", "natter-mh")
NETWORK = f"{PREFIX}-net"
HOSTS = {
    f"{PREFIX}-web": ["web"],
    f"{PREFIX}-app1": ["app"],
    f"{PREFIX}-app2": ["app"],
    f"{PREFIX}-worker": ["worker"],
    f"{PREFIX}-data": ["db", "redis"],
    f"{PREFIX}-storage": ["storage"],
}
WEB, APP1, APP2, WORKER, DATA, STORAGE = HOSTS
# The storage host starts from the RGW test image (Debian 13 with radosgw installed), as
# the single-host S3 stack does.
RGW_IMAGE = "localhost/natter-s3-rgw"
SITE = f"https://{DOMAIN}"
APP_PORT = 8000  # natter_app_port in group_vars/all/wiring.yml
# The soak's crowd signs up and sends from one address (this machine, through Nginx):
# limits that fit it; the limits themselves are the unit tests' business.
LIMITS = {
    name: "100000 per minute"
    for name in ("RATELIMIT_REGISTER", "RATELIMIT_LOGIN", "RATELIMIT_POST", "RATELIMIT_UPLOAD",
                 "RATELIMIT_CONVERSATION")
}  # fmt: skip
pytestmark = pytest.mark.timeout(2700)


def run_in(host: str, command: str, check=True) -> subprocess.CompletedProcess:
    return podman("exec", host, "bash", "-c", command, check=check)


class Hosts:
    def __init__(self, workdir: Path):
        self.inventory = workdir / "inventory.json"
        self.pebble_root = workdir / "pebble-root.pem"
        self.timings: dict[str, float] = {}

    def start(self) -> None:
        subprocess.run([str(ROOT / "ansible/test-image/build.sh"), DISTRO], env=ENV, check=True)
        subprocess.run([str(ROOT / "ansible/test-image/build-rgw.sh")], env=ENV, check=True)
        self.stop()
        podman("network", "create", NETWORK)
        for host in HOSTS:
            ports = ["-p", "127.0.0.1::443"] if host == WEB else []
            image = RGW_IMAGE if host == STORAGE else IMAGE
            podman("run", "-d", "--name", host, "--hostname", host, "--network", NETWORK,
                   "--cap-add", "NET_ADMIN", *ports, image, "/sbin/init")  # fmt: skip
        self.https_port = int(podman("port", WEB, "443").stdout.strip().rsplit(":", 1)[1])
        for host in HOSTS:
            wait_for_systemd(host)
            run_in(host, "apt-get update -q >/dev/null")
        groups = {}
        for host, names in HOSTS.items():
            for group in names:
                groups.setdefault(group, {"hosts": {}})["hosts"][host] = {}
        endpoint = f"http://{self.address(STORAGE)}:7480"
        # The gateway listens where site.yml puts it (the storage host's private address),
        # whatever the single-host S3 variant (make test-stack-s3) sets.
        shared = {k: v for k, v in EXTRA_VARS.items() if k != "object_storage_listen_address"}
        self.extra_vars = shared | s3_settings(endpoint) | {"chat_app_extra_environment": LIMITS}
        write_inventory(self.inventory, groups)
        self.playbook("ansible/molecule/pebble.yml", "--limit", WEB)

    def playbook(self, path: str, *extra: str) -> str:
        return run_playbook(self.inventory, self.extra_vars, path, *extra)

    def provision(self, label: str, *extra: str) -> str:
        started = time.monotonic()
        output = self.playbook("site.yml", *extra)
        self.timings[label] = round(time.monotonic() - started, 1)
        return output

    def address(self, host: str) -> str:
        return run_in(host, "hostname -I").stdout.split()[0]

    def stop(self) -> None:
        for host in HOSTS:
            podman("rm", "-f", host, check=False)
        podman("network", "rm", "-f", NETWORK, check=False)


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    hosts = Hosts(tmp_path_factory.mktemp("multi-host"))
    try:
        hosts.start()
        hosts.provision("fresh")
        hosts.pebble_root.write_text(run_in(WEB, "curl -sk https://127.0.0.1:15000/roots/0").stdout)
        yield hosts
    finally:
        timings = ROOT / "build" / "provisioning-times-multi-host.json"
        timings.parent.mkdir(exist_ok=True)
        timings.write_text(json.dumps(hosts.timings, indent=2))
        if not os.environ.get("NATTER_KEEP_HOSTS"):  # kept: to look into a failure by hand
            hosts.stop()


class Browser:
    """A person's cookie jar, talking to the web host over HTTPS as a browser would."""

    def __init__(self, hosts: Hosts, workdir: Path, name: str):
        self.hosts, self.jar, self.root = hosts, workdir / f"{name}.cookies", hosts.pebble_root
        self.token = self.call("GET", "/api/auth/csrf")[1]["csrf_token"]

    def curl(self, *args: str) -> list[str]:
        return [
            "curl", "-sS", "--cacert", str(self.root),
            "--connect-to", f"{DOMAIN}:443:127.0.0.1:{self.hosts.https_port}",
            "-b", str(self.jar), "-c", str(self.jar), *args,
        ]  # fmt: skip

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        referer = f"Referer: https://{DOMAIN}/chat"
        command = self.curl("--max-time", "30", "-X", method, "-H", referer, "-w", "\n%{http_code}")
        if body is not None:
            command += ["-H", "Content-Type: application/json", "-H", f"X-CSRFToken: {self.token}",
                        "--data", json.dumps(body)]  # fmt: skip
        result = subprocess.run([*command, f"https://{DOMAIN}{path}"], capture_output=True,
                                text=True, check=True)  # fmt: skip
        text, status = result.stdout.rsplit("\n", 1)
        answer = json.loads(text) if text.startswith("{") else {}
        self.token = answer.get("csrf_token", getattr(self, "token", None))
        return int(status), answer


def sign_up(hosts, workdir, name: str) -> Browser:
    browser = Browser(hosts, workdir, name)
    status, answer = browser.call(
        "POST", "/api/auth/register", {"username": name, "password": "long enough password"}
    )
    assert status == 201, answer
    return browser


def test_hosts_apart_serve_one_chat_and_survive_an_app_host_stopping(hosts, tmp_path):
    alice, bob = sign_up(hosts, tmp_path, "alice"), sign_up(hosts, tmp_path, "bob")
    status, conversation = alice.call("POST", "/api/chat/conversations", {"participants": ["bob"]})
    assert status == 201, conversation
    # Bob's page holds its event stream on one app host; Alice's messages go through both.
    events = tmp_path / "bob-events.txt"
    with open(events, "w") as output:
        stream = subprocess.Popen(bob.curl("-N", "--max-time", "120", f"https://{DOMAIN}/api/chat/events"),
                                  stdout=output, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until(lambda: ": connected" in events.read_text(), "Bob's stream to open")
        for number in range(6):
            status, sent = alice.call(
                "POST",
                "/api/chat/messages",
                {"conversation_id": conversation["id"], "content": f"m{number}"},
            )
            assert status == 201, sent
        wait_until(lambda: '"m5"' in events.read_text(), "every message live on Bob's stream")
    finally:
        stream.terminate()
        stream.wait(timeout=10)
    live = [line for line in events.read_text().splitlines() if '"content"' in line]
    assert [json.loads(line[6:])["content"] for line in live] == [f"m{n}" for n in range(6)]
    # Both app hosts answered some of them (their own Gunicorn access counts).
    for app_host in (APP1, APP2):
        served = run_in(
            app_host,
            "journalctl -u natter.service -o cat | grep -c 'POST /api/chat/messages' || true",
        )
        assert int(served.stdout.strip() or 0) > 0, f"{app_host} answered no message"

    run_in(APP1, "systemctl stop natter.socket natter.service")
    for number in range(6, 12):
        status, sent = alice.call(
            "POST",
            "/api/chat/messages",
            {"conversation_id": conversation["id"], "content": f"m{number}"},
        )
        assert status == 201, sent
        status, page = bob.call("GET", f"/api/chat/messages?conversation_id={conversation['id']}")
        assert status == 200, page
        assert page["messages"][-1]["content"] == f"m{number}"
    run_in(APP1, "systemctl start natter.socket natter.service")
    # Back in service: it answers the web host on its private address again.
    health = f"http://{hosts.address(APP1)}:{APP_PORT}/healthz"
    answers = (
        f"python3 -c \"import urllib.request; urllib.request.urlopen('{health}', timeout=10)\""
    )
    wait_until(
        lambda: run_in(WEB, answers, check=False).returncode == 0, f"{APP1} to serve again", 180
    )


@contextmanager
def web_log_on_failure():
    """A failure's message ends with what the web host's Nginx logged up to then."""
    try:
        yield
    except Exception as error:
        logged = run_in(WEB, "tail -n 40 /var/log/nginx/error.log", check=False).stdout
        raise AssertionError(f"{error}\n--- the web host's Nginx error log:\n{logged}") from error


def test_voice_recorded_in_chromium_plays_from_the_storage_host(hosts, speech_wav):
    rules = f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1:{hosts.https_port}"
    pebble = trust_pebble(hosts.pebble_root)
    with web_log_on_failure(), chromium(speech_wav, [rules], nss_setup=pebble) as browser:
        alice_context, bob_context = browser.new_context(), browser.new_context()
        for context in (alice_context, bob_context):  # the lanes beside it load the machine
            context.set_default_timeout(90_000)
        alice, bob = alice_context.new_page(), bob_context.new_page()
        register(alice, SITE, "carol")
        register(bob, SITE, "dave")
        start_conversation(alice, "dave")
        record_and_send(alice, 3)
        wait_until_transcoded(bob)
        bob.wait_for_selector("#conversations button", timeout=15000)
        bob.click("#conversations button >> nth=0")
        played = play_voice_message_to_end(bob)
        cookies = cookie_header(bob_context)
    assert re.search(r"/uploads/chat/[0-9a-f]{32}\.m4a$", played), played
    probe = subprocess.run(
        ["curl", "-sS", "-i", "--cacert", str(hosts.pebble_root),
         "--connect-to", f"{DOMAIN}:443:127.0.0.1:{hosts.https_port}",
         "-H", f"Cookie: {cookies}", "-H", "Range: bytes=0-1", played],
        capture_output=True, text=True, check=True,
    ).stdout.lower()  # fmt: skip
    assert probe.startswith("http/2 206") and "content-type: audio/mp4" in probe
    # The file lives in the bucket on the storage host, not on an app or worker host.
    name = played.rsplit("/", 1)[1]
    for host in (APP1, APP2, WORKER):
        stored = run_in(host, "find /var/lib/natter/uploads -type f", check=False).stdout
        assert name not in stored, host


def test_only_app_and_worker_hosts_reach_the_database_and_redis(hosts):
    data = hosts.address(DATA)
    probe = "timeout 10 bash -c '</dev/tcp/{0}/{1}' && echo open || echo closed"
    for port in (5432, 6379):
        assert run_in(WEB, probe.format(data, port)).stdout.strip() == "closed", port
        for client in (APP1, APP2, WORKER):
            assert run_in(client, probe.format(data, port)).stdout.strip() == "open", (client, port)


@contextmanager
def app_port_opened_for(hosts, host: str):
    """The app hosts' firewall lets `host` in too, as an inventory mistake would."""
    source = hosts.address(host)
    rule = f"nft insert rule inet natter_filter input ip saddr {source} tcp dport {APP_PORT} accept"
    for app_host in (APP1, APP2):
        run_in(app_host, rule)
    try:
        yield
    finally:
        for app_host in (APP1, APP2):
            run_in(app_host, "nft -f /etc/nftables.conf")


def test_only_the_web_host_may_say_who_the_client_is(hosts):
    """/metrics answers loopback alone: a believed "X-Forwarded-For: 127.0.0.1" is a 200."""
    metrics = (
        "curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'X-Forwarded-For: 127.0.0.1' "
    )
    url = f"http://{hosts.address(APP1)}:{APP_PORT}/metrics"
    assert run_in(WEB, metrics + url).stdout == "200"
    with app_port_opened_for(hosts, WORKER):
        assert run_in(WORKER, metrics + url).stdout == "404"


def test_a_second_run_changes_nothing(hosts):
    output = hosts.provision("second run")
    recap = [line for line in output.splitlines() if "changed=" in line and "ok=" in line]
    assert recap and all("changed=0" in line for line in recap), "\n".join(recap)


# Last: it changes a setting, so a later run would change it back. A new release or
# setting reaches the app hosts as docs/operators/hosts-apart.md says: the app play alone.
def test_a_redeploy_under_load_fails_no_request(hosts):
    probe = Browser(hosts, hosts.pebble_root.parent, "prober").curl(
        "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code}", f"{SITE}/healthz"
    )
    redeploy = ("--tags", "chat_app", "-e", "chat_app_gunicorn_workers=3")
    results, output = statuses_during(probe, lambda: hosts.provision("redeploy", *redeploy))
    assert "RUNNING HANDLER [chat_app : Restart the app]" in output
    assert len(results) > 20
    assert set(results) == {"200"}, {code: results.count(code) for code in set(results)}


# After every other test (it breaks things on purpose): people chat through Nginx while
# faults come and go; the checker judges the whole history (docs/developers/soak.md).
# Opt-in (make soak) until the live-stream losses it finds around a Redis stall are fixed.
@pytest.mark.skipif(not os.environ.get("SOAK_SECONDS"), reason="the soak runs by make soak")
def test_a_soak_with_faults_loses_duplicates_and_reorders_nothing(hosts, tmp_path, speech_wav):
    recording = tmp_path / "speech.ogg"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech_wav), "-t", "3", "-c:a", "libopus",
                    str(recording)], check=True)  # fmt: skip
    site = {"domain": DOMAIN, "port": hosts.https_port, "ca": hosts.pebble_root}
    names = dict(zip(("web", "app1", "app2", "worker", "data", "storage"), HOSTS, strict=True))
    run = soak.run_soak(site, tmp_path, soak.faults(hosts, names), run_in, recording)
    folder = ROOT / "build" / "soak"
    run.save(folder)
    verdict = check(run)
    (folder / "table.txt").write_text(verdict.table() + "\n")
    print(verdict.table())
    assert verdict.ok, verdict.table()
    assert verdict.acknowledged > 0.9 * verdict.operations, verdict.table()
    assert len(run.faults) == len(soak.faults(hosts, names)), run.faults
