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
    trusting_ca,
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
from tests.stack.test_full_stack import cookie_header

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
APP_TLS_NAME = "natter-app"  # natter_app_tls_name: on every app host's certificate
# The internal CA's bundle where the nginx and chat_app roles put it.
WEB_CA, APP_CA = "/etc/nginx/natter-internal-ca.pem", "/etc/natter/internal-ca.pem"
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
        # HTTPS: with hosts apart the gateway speaks TLS on its private address.
        endpoint = f"https://{self.address(STORAGE)}:7480"
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


def app_request(hosts, app_host: str, path: str, options: str = "", ca: str = WEB_CA) -> str:
    """curl to an app host's Gunicorn as Nginx reaches it: HTTPS, verified as natter-app."""
    address = hosts.address(app_host)
    return (
        f"curl -sS --max-time 10 {options} --cacert {ca} "
        f"--resolve {APP_TLS_NAME}:{APP_PORT}:{address} https://{APP_TLS_NAME}:{APP_PORT}{path}"
    )


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
    answers = app_request(hosts, APP1, "/healthz", "-f -o /dev/null")
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
    pebble = trusting_ca(hosts.pebble_root)
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
        bob.wait_for_selector("#conversations button", timeout=60000)
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
    forged = "-o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 127.0.0.1'"
    assert run_in(WEB, app_request(hosts, APP1, "/metrics", forged)).stdout == "200"
    with app_port_opened_for(hosts, WORKER):
        from_worker = app_request(hosts, APP1, "/metrics", forged, ca=APP_CA)
        assert run_in(WORKER, from_worker).stdout == "404"


@contextmanager
def captured(host: str, ports: list[int], name: str):
    """tcpdump on `host` for these ports while the block runs; yields the capture's path."""
    run_in(host, "command -v tcpdump >/dev/null || apt-get install -y -q tcpdump >/dev/null")
    capture, log = f"/tmp/{name}.pcap", f"/tmp/{name}.log"
    expression = " or ".join(f"tcp port {port}" for port in ports)
    pid = run_in(
        host,
        f"setsid tcpdump -i any --immediate-mode -nn -s0 -U -w {capture} '{expression}' "
        f">{log} 2>&1 & echo $!",
    ).stdout.strip()
    wait_until(lambda: "listening on" in run_in(host, f"cat {log}").stdout, f"tcpdump on {host}")
    try:
        yield capture
    finally:
        run_in(host, f"kill -INT {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.2; done")


def packets(host: str, capture: str, port: int) -> int:
    listed = run_in(host, f"tcpdump -nn -r {capture} 'tcp port {port}' 2>/dev/null | wc -l")
    return int(listed.stdout.strip())


def test_no_message_crosses_between_hosts_in_the_clear(hosts, tmp_path, speech_wav):
    """A text message crosses web -> app (Gunicorn), app -> data (PostgreSQL, Redis); a voice
    message also app -> storage (the raw file into the bucket). Each hop carried packets,
    and none of them holds the text, or the Ogg pages' "OggS" mark of the recording."""
    alice, _ = sign_up(hosts, tmp_path, "wire-alice"), sign_up(hosts, tmp_path, "wire-bob")
    status, conversation = alice.call(
        "POST", "/api/chat/conversations", {"participants": ["wire-bob"]}
    )
    assert status == 201, conversation
    recording = tmp_path / "wire.ogg"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech_wav), "-t", "2", "-c:a", "libopus",
                    str(recording)], check=True)  # fmt: skip
    assert b"OggS" in recording.read_bytes()
    secret = "plaintext-canary-4f9c2a"
    with (
        captured(DATA, [5432, 6379], "data") as data,
        captured(WEB, [APP_PORT], "web") as web,
        captured(STORAGE, [7480], "storage") as storage,
    ):
        status, sent = alice.call(
            "POST", "/api/chat/messages", {"conversation_id": conversation["id"], "content": secret}
        )
        assert status == 201, sent
        form = ["-F", f"conversation_id={conversation['id']}", "-F", f"file=@{recording}"]
        headers = ["-H", f"Referer: {SITE}/chat", "-H", f"X-CSRFToken: {alice.token}"]
        upload = alice.curl("-X", "POST", *headers, *form, "-o", "/dev/null", "-w", "%{http_code}")
        uploaded = subprocess.run(
            [*upload, f"{SITE}/api/chat/messages/upload_audio"], capture_output=True, text=True
        ).stdout
        assert uploaded == "201"
        # The worker's trip too: the raw file out of the bucket, the m4a into it.
        wait_until(lambda: transcoded(alice, conversation["id"]), "the m4a", 120)
    hops = ((DATA, data, (5432, 6379), secret), (WEB, web, (APP_PORT,), secret),
            (STORAGE, storage, (7480,), "OggS"))  # fmt: skip
    for host, capture, ports, mark in hops:
        for port in ports:
            assert packets(host, capture, port) > 0, f"no traffic on {port} at {host}"
        raw = run_in(host, f"grep -ac {mark} {capture} || true").stdout.strip()
        assert raw == "0", f"{mark} is readable on the wire at {host}"


def transcoded(browser: Browser, conversation_id: int) -> bool:
    status, page = browser.call("GET", f"/api/chat/messages?conversation_id={conversation_id}")
    voice = [message for message in page.get("messages", []) if message["type"] == "audio"]
    return status == 200 and bool(voice) and bool(json.loads(voice[-1]["content"])["url_m4a"])


def tls_check(host: str, target: str, port: int, ca: str, *check: str, starttls: str = "") -> bool:
    """Does a client on `host` that trusts `ca` accept the server at target:port?"""
    command = (
        f"openssl s_client -connect {target}:{port} -CAfile {ca} -verify_return_error -brief "
        f"{'-starttls ' + starttls if starttls else ''} {' '.join(check)} </dev/null"
    )
    return run_in(host, f"timeout 20 {command}", check=False).returncode == 0


def test_internal_hops_verify_the_ca_and_the_name_and_refuse_plain_clients(hosts):
    data, app1 = hosts.address(DATA), hosts.address(APP1)
    other_ca = "/tmp/other-ca.pem"
    run_in(APP1, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                 f"-subj /CN=other -keyout /tmp/other.key -out {other_ca} 2>/dev/null")  # fmt: skip
    for port, starttls in ((6379, ""), (5432, "postgres")):
        assert tls_check(APP1, data, port, APP_CA, f"-verify_ip {data}", starttls=starttls), port
        assert not tls_check(APP1, data, port, other_ca, f"-verify_ip {data}", starttls=starttls)
        assert not tls_check(
            APP1, data, port, APP_CA, "-verify_hostname not-the-data-host", starttls=starttls
        ), port
    storage = hosts.address(STORAGE)
    assert tls_check(APP1, storage, 7480, APP_CA, f"-verify_ip {storage}")
    assert not tls_check(APP1, storage, 7480, other_ca, f"-verify_ip {storage}")
    assert tls_check(WEB, storage, 7480, WEB_CA, f"-verify_hostname {STORAGE}")
    assert tls_check(WEB, app1, APP_PORT, WEB_CA, f"-verify_hostname {APP_TLS_NAME}")
    assert not tls_check(WEB, app1, APP_PORT, WEB_CA, "-verify_hostname natter-other")
    # A client speaking the plain protocols gets nothing from the TLS-only ports.
    plain_redis = (
        f'timeout 10 bash -c \'exec 3<>/dev/tcp/{data}/6379; printf "PING\\r\\n" >&3; '
        "timeout 5 cat <&3' || true"
    )
    assert run_in(APP1, plain_redis).stdout == ""
    plain_postgres = f"host={data} dbname=natter user=natter sslmode=disable connect_timeout=10"
    refused = run_in(APP1, f"psql -w '{plain_postgres}' -c 'SELECT 1' </dev/null", check=False)
    assert refused.returncode != 0 and "no encryption" in refused.stderr, refused.stderr
    assert run_in(APP1, app_request(hosts, APP1, "/healthz", "-f -o /dev/null", ca=other_ca),
                  check=False).returncode != 0  # fmt: skip


def test_a_backup_on_an_app_host_reads_the_database_over_verified_tls(hosts):
    run_in(APP1, "rm -rf /var/backups/natter/*")
    run_in(APP1, "/usr/local/bin/natter-backup")
    archives = run_in(APP1, "ls /var/backups/natter").stdout.split()
    assert len(archives) == 1, archives


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
# Short by default (make test); make soak runs it alone, as long as SOAK_SECONDS says.
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
    assert not [fault for fault in run.faults if fault["failed"]], run.faults
