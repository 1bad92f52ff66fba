"""site.yml on a fresh systemd container: real Nginx, Gunicorn, RQ worker, Redis, Pebble."""

import io
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from app.version import VERSION
from tests.app.test_metrics import value
from tests.browser.chromium import (
    chromium,
    open_chat_with_conversations,
    play_voice_message_to_end,
    record_and_send,
    register,
    start_conversation,
    trusting_ca,
    wait_until_transcoded,
)
from tests.conftest import ROOT
from tests.stack.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    CONTAINER,
    DOMAIN,
    REDIS_FLAVOR,
    REDIS_PASSWORD,
    S3_ACCESS_KEY,
    S3_BUCKET,
    S3_ENDPOINT,
    S3_SECRET_KEY,
    STORAGE,
    in_container,
    statuses_during,
)

SITE = f"https://{DOMAIN}"
# The first test also waits for the session's stack: a fresh host's apt installs and site.yml
# (about 2-3 min on an idle 2-core machine, several times that when the machine is shared).
# Each playbook run has its own 1800 s limit; this bounds a test and its share of the setup
# (with eight test suites sharing 2 cores, starting the container alone took 8 minutes).
pytestmark = pytest.mark.timeout(2700)


def cookie_header(context) -> str:
    return "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())


def test_services_are_up_and_the_certificate_comes_from_pebble(stack):
    units = "natter.socket natter.service natter-worker@1.service nginx pebble"
    units += f" {REDIS_FLAVOR}-server" + (" natter-rgw" if STORAGE == "s3" else "")
    states = in_container(
        f"systemctl is-active {units}; systemctl is-enabled certbot.timer", check=False
    ).split()
    assert states == ["active"] * len(units.split()) + ["enabled"]
    issuer = in_container(
        f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} </dev/null 2>/dev/null"
        " | openssl x509 -noout -issuer"
    )
    assert "Pebble" in issuer
    # /metrics reports the expiry of the certificate Nginx serves (a handshake, as browsers).
    served_expiry = in_container(
        f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} </dev/null 2>/dev/null"
        " | openssl x509 -noout -enddate | cut -d= -f2 | date -f - +%s"
    )
    metrics = in_container(
        # The unix socket's X-Forwarded-For is believed, as Nginx's own /metrics passes it.
        "curl -sS -H 'X-Forwarded-For: 127.0.0.1' --unix-socket /run/natter/gunicorn.sock"
        " http://localhost/metrics"
    )
    reported = value(metrics, "natter_served_certificate_expiry_timestamp_seconds")
    assert reported == float(served_expiry)
    health = json.loads(stack.curl(f"{SITE}/healthz").stdout)
    assert health == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "uploads": "ok",
        "storage": f"{STORAGE}: ok",
        "version": VERSION,
    }


def test_the_release_speaks_chinese_from_its_compiled_catalog(stack):
    page = stack.curl("-H", "Accept-Language: zh-CN", f"{SITE}/login").stdout
    assert '<html lang="zh-CN">' in page and "<title>登录 · Natter</title>" in page
    error = stack.curl("-H", "Accept-Language: zh-CN", f"{SITE}/api/me").stdout
    assert json.loads(error) == {"error": "请先登录", "code": "login_required"}


def test_natter_admin_and_the_first_admin_from_the_inventory(stack, tmp_path):
    assert in_container("natter-admin --version").strip() == f"natter {VERSION}"
    assert f"\t{ADMIN_USERNAME}\tadmin" in in_container("natter-admin users list")
    created = in_container("natter-admin invites create --uses 2 --expires 1h").splitlines()
    assert created[0].startswith(f"{SITE}/login?invite=") and "2 use(s)" in created[1]
    assert "\tactive\t2/2\t" in in_container("natter-admin invites list")
    refused = in_container("runuser -u nobody -- natter-admin users list 2>&1; echo rc=$?", False)
    assert "run it as root" in refused and "rc=1" in refused
    # The data is in PostgreSQL (the deployed default), not in a SQLite file.
    admins = (
        'runuser -u postgres -- psql -XAt natter -c "SELECT username FROM users WHERE is_admin"'
    )
    assert in_container(admins).splitlines() == [ADMIN_USERNAME]
    assert in_container("test -e /var/lib/natter/natter.sqlite3 || echo absent").strip() == "absent"
    jar = str(tmp_path / "cookies")
    token = json.loads(stack.curl("-c", jar, f"{SITE}/api/auth/csrf").stdout)["csrf_token"]
    login = stack.curl(
        "-b", jar, "-c", jar, "-H", f"X-CSRFToken: {token}", "-H", "Content-Type: application/json",
        "-H", f"Referer: {SITE}/login",
        "--data", json.dumps({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}),
        f"{SITE}/api/auth/login",
    )  # fmt: skip
    assert json.loads(login.stdout)["is_admin"] is True
    mode = json.loads(stack.curl("-b", jar, f"{SITE}/api/admin/registration").stdout)
    assert mode == {"mode": "open", "default": "open"}
    outsider = stack.curl("-o", "/dev/null", "-w", "%{http_code}", f"{SITE}/api/admin/users")
    assert outsider.stdout == "404"


def test_plain_http_redirects_to_https(stack):
    head = stack.curl("-I", f"http://{DOMAIN}/chat").stdout
    assert head.startswith("HTTP/1.1 301")
    assert f"Location: https://{DOMAIN}/chat" in head


def test_voice_recorded_in_the_browser_plays_and_nginx_serves_it(stack, speech_wav):
    rules = f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1:{stack.https_port}"
    with chromium(speech_wav, [rules], nss_setup=trusting_ca(stack.pebble_root_path)) as browser:
        alice_context, bob_context, mallory_context = (browser.new_context() for _ in range(3))
        for context in (alice_context, bob_context, mallory_context):  # the lanes beside it
            context.set_default_timeout(90_000)  # load the machine (a CI sign-up missed 30 s)
        alice, bob, mallory = (c.new_page() for c in (alice_context, bob_context, mallory_context))
        for page, name in ((alice, "alice"), (bob, "bob"), (mallory, "mallory")):
            register(page, SITE, name)
        start_conversation(alice, "bob")
        record_and_send(alice, 3)
        alice.wait_for_selector("li[data-type=audio] .voice-player", timeout=30000)
        # A tap before the transcode ends plays the raw recording (never interrupted).
        wait_until_transcoded(bob)
        bob.wait_for_selector("#conversations button", timeout=60000)
        bob.click("#conversations button >> nth=0")
        played = play_voice_message_to_end(bob)
        bob_cookies, mallory_cookies = cookie_header(bob_context), cookie_header(mallory_context)
        # The backup test restores these people and their session cookies on a new host.
        stack.people = {"alice": alice_context.cookies(), "bob": bob_context.cookies()}
        stack.played = played

    assert re.search(r"/uploads/chat/[0-9a-f]{32}\.m4a$", played)
    path = played.removeprefix(SITE)
    probe = stack.curl(
        "-i", "-H", f"Cookie: {bob_cookies}", "-H", "Range: bytes=0-1", f"{SITE}{path}"
    ).stdout
    assert probe.startswith("HTTP/2 206")
    assert "content-length: 2\n" in probe.lower()
    assert "content-type: audio/mp4" in probe.lower()
    assert "x-accel-redirect" not in probe.lower()  # Nginx consumed the app's hand-off
    assert "content-range: bytes 0-1/" in probe.lower()
    outsider = stack.curl(
        "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Cookie: {mallory_cookies}", f"{SITE}{path}"
    ).stdout
    assert outsider == "404"
    name = path.rsplit("/", 1)[1]
    internal = (
        "/internal/s3/127.0.0.1:7480/natter-voice" if STORAGE == "s3" else "/_protected_uploads"
    )
    direct = stack.curl("-o", "/dev/null", "-w", "%{http_code}", f"{SITE}{internal}/chat/{name}")
    assert direct.stdout == "404"
    if STORAGE == "s3":
        assert_served_from_the_bucket(name, probe)


LIST_BUCKET = """
import boto3, sys
endpoint, key, secret, bucket = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)
print(*[o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])])
"""


def assert_served_from_the_bucket(name: str, probe: str) -> None:
    """The voice file is an object of the private bucket, not a file on the app host."""
    assert not re.search(r"^x-(amz|rgw)-", probe, re.IGNORECASE | re.MULTILINE)
    assert "127.0.0.1:7480" not in probe
    local = in_container("find /var/lib/natter/uploads -type f", check=False)
    assert name.split(".")[0] not in local
    listing = in_container(
        f"python3 - {S3_ENDPOINT} {S3_ACCESS_KEY} {S3_SECRET_KEY} {S3_BUCKET} <<'EOF'"
        f"{LIST_BUCKET}EOF"
    ).split()
    stem = name.split(".")[0]
    assert f"chat/{name}" in listing
    assert any(key.startswith(f"chat/{stem}-raw.") for key in listing), listing
    anonymous = f"curl -s -o /dev/null -w '%{{http_code}}' {S3_ENDPOINT}/{S3_BUCKET}/chat/{name}"
    assert in_container(anonymous) == "403"


def test_rate_limit_counters_are_shared_by_the_gunicorn_workers(stack, tmp_path):
    jar = str(tmp_path / "jar")
    token = json.loads(stack.curl("-c", jar, "-b", jar, f"{SITE}/api/auth/csrf").stdout)
    codes = []
    # The login limit is 10 per minute per address; a new name each time, so the
    # per-account backoff (5 failures) never answers first.
    for attempt in range(12):
        codes.append(
            stack.curl(
                "-c",
                jar,
                "-b",
                jar,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                "Content-Type: application/json",
                "-H",
                f"X-CSRFToken: {token['csrf_token']}",
                "-H",
                f"Referer: {SITE}/login",
                "--data",
                json.dumps({"username": f"nobody{attempt}", "password": "wrong password"}),
                f"{SITE}/api/auth/login",
            ).stdout
        )
    # At most 10 in the minute for the whole site (an earlier test's login may count too):
    # with per-process counters, two workers would let up to 20 through.
    first_refused = codes.index("429")
    assert 1 <= first_refused <= 10
    assert set(codes[:first_refused]) == {"401"} and set(codes[first_refused:]) == {"429"}
    keys = in_container(f"redis-cli --no-auth-warning -a {REDIS_PASSWORD} -n 1 --scan")
    assert "LIMITS" in keys


def test_a_redeploy_loses_no_request(stack):
    probe = [
        "curl",
        "-s",
        "--max-time",
        "30",
        "--cacert",
        str(stack.pebble_root_path),
        "--connect-to",
        f"{DOMAIN}:443:127.0.0.1:{stack.https_port}",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        f"{SITE}/healthz",
    ]
    results, output = statuses_during(
        probe, lambda: stack.provision("redeploy", "-e", "chat_app_gunicorn_workers=3")
    )
    assert "RUNNING HANDLER [chat_app : Restart the app]" in output
    assert len(results) > 20
    assert set(results) == {"200"}, {code: results.count(code) for code in set(results)}


def test_a_running_app_listens_on_tcp_once_nginx_moves_to_another_host(stack):
    """With Nginx elsewhere the app play adds a TCP listener to natter.socket: a host that
    already runs gets it in the same run, and loses it when Nginx comes back."""
    direct = "curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:8000/healthz"
    try:
        output = stack.playbook(
            "site.yml", "--tags", "chat_app", "-e", "chat_app_tcp_listen=127.0.0.1:8000"
        )
        assert "RUNNING HANDLER [chat_app : Restart the socket and the app" in output
        assert in_container(direct, check=False) == "200"
    finally:
        stack.playbook("site.yml", "--tags", "chat_app")
    assert in_container(direct, check=False) == "000"
    assert in_container("systemctl is-active natter.socket natter.service").split() == [
        "active",
        "active",
    ]


def test_a_new_release_then_rollback_brings_the_previous_one_back(stack, tmp_path):
    release_a = in_container("readlink /srv/natter/current").strip()
    # Release B: the same checkout plus one static file, wheels reused (no download).
    source = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(source)], check=True)
    (source / "build/release").mkdir(parents=True)
    for wheels in (ROOT / "build/release").glob("wheels-py*"):  # folders and their archives
        copy = shutil.copytree if wheels.is_dir() else shutil.copy2
        copy(wheels, source / "build/release" / wheels.name)
    (source / "app/static/release-marker.txt").write_text("release B\n")
    marker = f"{SITE}/static/release-marker.txt"

    stack.provision("release B", "-e", f"chat_app_source_dir={source}")
    release_b = in_container("readlink /srv/natter/current").strip()
    assert release_b != release_a
    assert stack.curl(marker).stdout == "release B\n"

    stack.playbook("ansible/rollback.yml")
    assert in_container("readlink /srv/natter/current").strip() == release_a
    assert stack.curl("-o", "/dev/null", "-w", "%{http_code}", marker).stdout == "404"
    assert stack.curl("-o", "/dev/null", "-w", "%{http_code}", f"{SITE}/healthz").stdout == "200"
    services = in_container("systemctl is-active natter.service natter-worker@1.service")
    assert services.split() == ["active", "active"]


def api(stack, cookies, path, data=None) -> dict:
    """One JSON API call with a browser's cookies (and its CSRF token for a POST)."""
    pairs = "; ".join(f"{cookie['name']}={cookie['value']}" for cookie in cookies)
    jar = ["-H", f"Cookie: {pairs}"]
    if data is None:
        return json.loads(stack.curl(*jar, f"{SITE}{path}").stdout)
    token = api(stack, cookies, "/api/auth/csrf")["csrf_token"]
    return json.loads(
        stack.curl(
            *jar, "-H", f"X-CSRFToken: {token}", "-H", "Content-Type: application/json",
            "-H", f"Referer: {SITE}/chat", "--data", json.dumps(data), f"{SITE}{path}",
        ).stdout
    )  # fmt: skip


def everything(stack) -> dict:
    """What the people see (conversations, messages), the accounts, every voice file's sha256."""
    seen = {}
    for name, cookies in stack.people.items():
        conversations = api(stack, cookies, "/api/chat/conversations")["conversations"]
        seen[name] = [
            (c["id"], api(stack, cookies, f"/api/chat/messages?conversation_id={c['id']}"))
            for c in conversations
        ]
    seen["accounts"] = in_container("natter-admin users list")
    seen["voice files"] = in_container(
        "cd /var/lib/natter/uploads/chat && sha256sum -- * | sort -k2"
    ).splitlines()
    return seen


def host_data() -> str:
    return in_container(
        "sha256sum /var/lib/natter/natter.sqlite3 /etc/natter/secret_key /etc/natter/natter.env;"
        " ls -A /var/lib/natter/uploads/chat; systemctl is-active natter.service"
    )


def damaged(archive, folder):
    """A truncated copy, and a copy whose voice file differs from its manifest's sha256."""
    truncated = folder / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    altered = folder / "altered.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(altered, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read()
            if member.name.startswith("files/chat/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, io.BytesIO(data))
    return {"truncated": truncated, "altered voice file": altered}


# A new container, apt and site.yml on it (each playbook has its own 900 s limit), then backup,
# restore and the browser: more than the module's per-test bound on a shared machine.
@pytest.mark.timeout(2700)
@pytest.mark.skipif(STORAGE == "s3", reason="checks the voice files on the host's disk")
def test_a_backup_restores_onto_a_fresh_host(stack, tmp_path, speech_wav):
    """Backup, destroy the host, site.yml on a new one, refused bad archives, restore: every
    message, voice file and account is back, old passwords and old session cookies work,
    and the browser plays the old voice message. The second site.yml run then checks that
    the restored host is exactly what site.yml makes (idempotence on restored data)."""
    if not hasattr(stack, "people"):
        pytest.fail("nothing to restore: the browser voice test, which makes the people, failed")
    conversation = api(stack, stack.people["alice"], "/api/chat/conversations")["conversations"]
    for text in ("before the backup", "备份之前的消息 🎙"):
        sent = api(stack, stack.people["alice"], "/api/chat/messages",
                   {"conversation_id": conversation[0]["id"], "content": text})  # fmt: skip
        assert sent["content"] == text
    before = everything(stack)
    assert len(before["voice files"]) >= 2 and len(before["bob"][0][1]["messages"]) == 3

    backups = tmp_path / "backups"
    output = stack.playbook("ansible/backup.yml", "-e", f"backup_dir={backups}")
    archive = Path(re.search(r"backup_archive=(\S+\.tar\.gz)", output).group(1))
    assert archive.parent == backups and re.fullmatch(
        rf"natter-{CONTAINER}-\d{{8}}T\d{{6}}Z\.tar\.gz", archive.name
    )
    assert archive.stat().st_mode & 0o777 == 0o600
    # The timer's service makes one more while the app runs; retention (keep 1) prunes.
    in_container("systemctl start natter-backup.service")
    kept = in_container("ls /var/backups/natter").split()
    assert len(kept) == 1 and kept[0] != archive.name
    assert in_container("systemctl is-enabled natter-backup.timer").strip() == "enabled"

    stack.stop()
    stack.start()
    stack.provision("restore target")
    stack.pebble_root_path = stack.pebble_root()
    fresh = host_data()
    for case, bad in damaged(archive, tmp_path).items():
        with pytest.raises(AssertionError, match="Not restored; nothing was changed"):
            stack.playbook("ansible/restore.yml", "-e", f"archive={bad}")
        assert host_data() == fresh, case

    stack.playbook("ansible/restore.yml", "-e", f"archive={archive}")
    assert everything(stack) == before  # old session cookies read every message
    for name, password in (("alice", "long password"), (ADMIN_USERNAME, ADMIN_PASSWORD)):
        jar = str(tmp_path / f"{name}.jar")
        token = json.loads(stack.curl("-c", jar, f"{SITE}/api/auth/csrf").stdout)["csrf_token"]
        login = stack.curl(
            "-b", jar, "-H", f"X-CSRFToken: {token}", "-H", "Content-Type: application/json",
            "-H", f"Referer: {SITE}/login", f"{SITE}/api/auth/login",
            "--data", json.dumps({"username": name, "password": password}),
        )  # fmt: skip
        assert json.loads(login.stdout)["username"] == name
    rules = f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1:{stack.https_port}"
    with chromium(speech_wav, [rules], nss_setup=trusting_ca(stack.pebble_root_path)) as browser:
        context = browser.new_context()
        context.add_cookies(stack.people["bob"])
        bob = context.new_page()
        open_chat_with_conversations(bob, f"{SITE}/chat")
        bob.click("#conversations button >> nth=0")
        assert play_voice_message_to_end(bob) == stack.played


def test_a_second_run_and_a_check_run_change_nothing(stack):
    for label, extra in (("second run", ()), ("check run", ("--check",))):
        output = stack.provision(label, *extra)
        recap = re.search(r"changed=(\d+).*failed=(\d+)", output.split("PLAY RECAP")[-1])
        assert recap.groups() == ("0", "0"), (label, output.split("PLAY RECAP")[-1])
    # A live release is not unpacked, installed or migrated again.
    migrate = output.split("TASK [chat_app : Upgrade the database schema")[1].split("TASK [")[0]
    assert "skipping:" in migrate and "ok:" not in migrate, migrate


def test_a_host_still_on_sqlite_is_not_switched_to_an_empty_postgresql(stack):
    """A host provisioned before PostgreSQL became the default keeps its data in SQLite:
    the play stops with what to do, before anything changes."""
    sqlite_file = "/var/lib/natter/natter.sqlite3"
    in_container(f"install -o natter -g natter -m 0600 /dev/null {sqlite_file}")
    try:
        with pytest.raises(AssertionError, match="holds this site's data") as refused:
            stack.playbook("site.yml", "--tags", "chat_app")
        assert "natter_database: sqlite" in str(refused.value)
        assert "changed=0" in str(refused.value).split("PLAY RECAP")[-1]
    finally:
        in_container(f"rm -f {sqlite_file}")
    assert in_container("systemctl is-active natter.service").strip() == "active"
