"""The soak on the hosts-apart stack: simulated people chat through Nginx while faults come
and go on a schedule; every operation is logged for the checker (tests/soak/checker.py).

Each person sends text (and every VOICE_EVERY-th time a recording) at a steady pace, one
send at a time in order, each with its client key, and sends again with the same key
while no answer comes (a network failure, a cut answer, a 5xx). Half of them listen on
the event stream (resuming with after_id whenever it ends); the others only read their
history at the end. Everything runs from this machine with curl through the web host's
published HTTPS port; faults run in the hosts with `podman exec`.
"""

import json
import os
import random
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.soak.checker import Run, send_record
from tests.stack.conftest import EXTRA_VARS

# How long a soak sends, and how many people in how many conversations (make soak takes
# SOAK_SECONDS, SOAK_PEOPLE, SOAK_CONVERSATIONS; the lane runs the short default).
SECONDS = float(os.environ.get("SOAK_SECONDS") or "150")
PEOPLE = int(os.environ.get("SOAK_PEOPLE") or "12")
CONVERSATIONS = int(os.environ.get("SOAK_CONVERSATIONS") or "4")
# Sends per second of all people together: steady, bounded.
RATE = float(os.environ.get("SOAK_RATE") or "2")
# Every this many sends of a person is a voice message.
VOICE_EVERY = 8
# A send is tried until acknowledged or refused, for at most this long.
GIVE_UP_SECONDS = 120
PASSWORD = "soak password long enough"


@dataclass
class Fault:
    name: str
    hosts: list[str]
    break_command: str
    repair_command: str
    hold_seconds: float


def faults(hosts, names) -> list[Fault]:
    """The schedule's faults, in order: `names` maps roles to container names. The
    certificate renewal goes last. Its certbot must not sleep first (certbot renew waits up
    to 8 minutes when no terminal is attached) and trusts Pebble as its systemd unit does
    (the role's drop-in): before 12-07 this fault's certbot failed on Pebble's certificate,
    and nobody saw it, since a fault's failed command went unrecorded."""
    data_address = hosts.address(names["data"])
    cut = (
        "nft add table inet soak && nft add chain inet soak out "
        "'{ type filter hook output priority 0; }' && "
        f"nft add rule inet soak out ip daddr {data_address} drop"
    )
    apps = [names["app1"], names["app2"]]
    return [
        Fault("Redis killed", [names["data"]], "systemctl kill -s KILL redis-server",
              "systemctl restart redis-server", 3),
        Fault("Redis stalled", [names["data"]], "systemctl kill -s STOP redis-server",
              "systemctl kill -s CONT redis-server", 5),
        Fault("worker killed", [names["worker"]], "systemctl kill -s KILL 'natter-worker@*'",
              "systemctl restart 'natter-worker@*'", 2),
        Fault("app host stopped", [names["app1"]], "systemctl stop natter.socket natter.service",
              "systemctl start natter.socket natter.service", 8),
        Fault("PostgreSQL restarted", [names["data"]], "true",
              "systemctl restart 'postgresql@*-main'", 0),
        Fault("Nginx reloaded", [names["web"]], "true", "systemctl reload nginx", 0),
        Fault("S3 gateway restarted", [names["storage"]], "true",
              "systemctl restart natter-rgw", 0),
        Fault("app hosts cut from the data host", apps, cut, "nft delete table inet soak", 5),
        Fault("certificate renewed", [names["web"]], "true",
              f"REQUESTS_CA_BUNDLE={EXTRA_VARS['certbot_ca_bundle']} certbot renew"
              " --force-renewal --no-random-sleep-on-renew --quiet", 0),
    ]  # fmt: skip


class Client:
    """One person's HTTPS session through the web host (curl, as test_multi_host does)."""

    def __init__(self, site: dict, workdir: Path, name: str):
        self.site, self.name, self.jar = site, name, workdir / f"{name}.cookies"
        self.token = None
        self.token = self.call("GET", "/api/auth/csrf")[1].get("csrf_token")

    def curl(self, *args: str) -> list[str]:
        return [
            "curl", "-sS", "--cacert", str(self.site["ca"]),
            "--connect-to", f"{self.site['domain']}:443:127.0.0.1:{self.site['port']}",
            "-b", str(self.jar), "-c", str(self.jar), *args,
        ]  # fmt: skip

    def call(self, method, path, body=None, form=None, timeout=30) -> tuple[int, dict]:
        """(status, JSON answer); status 0 when no answer came (refused, cut, timed out)."""
        command = self.curl("--max-time", str(timeout), "-X", method, "-w", "\n%{http_code}",
                            "-H", f"Referer: https://{self.site['domain']}/chat")  # fmt: skip
        if self.token:
            command += ["-H", f"X-CSRFToken: {self.token}"]
        if body is not None:
            command += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
        for field, value in (form or {}).items():
            command += ["-F", f"{field}={value}"]
        result = subprocess.run([*command, f"https://{self.site['domain']}{path}"],
                                capture_output=True, text=True, timeout=timeout + 10)  # fmt: skip
        text, _, status = result.stdout.rpartition("\n")
        if result.returncode != 0 or not status.isdigit() or status == "000":
            return 0, {}
        try:
            answer = json.loads(text) if text.startswith("{") else {}
        except json.JSONDecodeError:
            return 0, {}  # an answer cut in the middle
        self.token = answer.get("csrf_token", self.token)
        return int(status), answer


class Listener(threading.Thread):
    """A person's event stream, reopened with after_id whenever it ends, until stopped."""

    def __init__(self, client: Client):
        super().__init__(daemon=True)
        self.client, self.records, self.last_id = client, [], 0
        self.stopping, self.process = threading.Event(), None

    def run(self):
        while not self.stopping.is_set():
            query = f"?after_id={self.last_id}" if self.last_id else ""
            url = f"https://{self.client.site['domain']}/api/chat/events{query}"
            # The with closes the pipe and waits for curl, whichever side ended the stream.
            with subprocess.Popen(self.client.curl("-N", "--max-time", "120", url),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True) as self.process:  # fmt: skip
                self.read(self.process.stdout)
            self.stopping.wait(1)

    def read(self, lines):
        event = None
        for line in lines:
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: ") and event == "message":
                message = json.loads(line[6:])
                self.records.append({"received": time.time(), "message": message})
                self.last_id = max(self.last_id, message["id"])

    def stop(self):
        self.stopping.set()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.join(timeout=15)


def send_once(client: Client, conversation_id, kind, seq, recording: Path) -> dict:
    """One send as the page makes it: same key on every try, backoff, until answered."""
    client_id = str(uuid.uuid4())
    token = f"{client.name}#{seq}:{client_id[:8]}"
    started, tries, attempt = time.time(), [], 0
    while time.time() - started < GIVE_UP_SECONDS:
        begun = time.time()
        if kind == "voice":
            form = {"conversation_id": conversation_id, "client_id": client_id,
                    "file": f"@{recording}"}  # fmt: skip
            status, answer = client.call("POST", "/api/chat/messages/upload_audio", form=form,
                                         timeout=60)  # fmt: skip
        else:
            body = {"conversation_id": conversation_id, "content": f"soak {token}",
                    "client_id": client_id}  # fmt: skip
            status, answer = client.call("POST", "/api/chat/messages", body)
        # A failure's own words ("unavailable", the database's message) or, for an
        # answer without JSON (Nginx's own error page, no answer at all), nothing.
        tries.append({"start": begun, "end": time.time(), "status": status,
                      "message_id": answer.get("id"),
                      "error": answer.get("code") or answer.get("error")})  # fmt: skip
        if 0 < status < 500 and status != 429:
            break
        time.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.75, 1.25))
        attempt += 1
    return send_record(client.name, conversation_id, kind, seq, client_id, token, started, tries)


def person_loop(client, conversation_id, until, interval, recording, log, lock) -> None:
    seq = 0
    next_at = time.time() + random.uniform(0, interval)
    while next_at < until:
        time.sleep(max(0.0, next_at - time.time()))
        seq += 1
        kind = "voice" if seq % VOICE_EVERY == 0 else "text"
        record = send_once(client, conversation_id, kind, seq, recording)
        with lock:
            log.append(record)
        next_at = max(next_at + interval, time.time())


def run_faults(schedule: list[Fault], run_in, start: float, until: float, windows: list) -> None:
    """Each fault in turn, evenly spread over the soak; its window runs from the break to
    the end of its repair."""
    spacing = (until - start) / (len(schedule) + 1)
    for number, fault in enumerate(schedule, 1):
        time.sleep(max(0.0, start + number * spacing - time.time()))
        began, failed = time.time(), []
        for host in fault.hosts:
            failed += command_failure(run_in(host, fault.break_command, check=False), host)
        time.sleep(fault.hold_seconds)
        for host in fault.hosts:
            failed += command_failure(run_in(host, fault.repair_command, check=False), host)
        windows.append({"name": fault.name, "start": began, "end": time.time(), "failed": failed})


def command_failure(result: subprocess.CompletedProcess, host: str) -> list[str]:
    """[what failed] when a fault's command did not do its part (the fault did not happen)."""
    if result.returncode == 0:
        return []
    return [f"{host}: {result.args[-1]!r} exited {result.returncode}: {result.stderr[-300:]}"]


def whole_history(client: Client, conversation_id: int) -> list[dict]:
    messages, after = [], 0
    while True:
        path = f"/api/chat/messages?conversation_id={conversation_id}&after_id={after}&limit=200"
        for _ in range(10):
            status, page = client.call("GET", path)
            if status == 200:
                break
            time.sleep(2)
        if not page.get("messages"):
            return messages
        messages += page["messages"]
        after = messages[-1]["id"]


def voice_checks(client: Client, histories, workdir: Path) -> dict[int, dict]:
    """Each voice message's best file downloaded and decoded by ffmpeg; its raw file kept?"""
    checks = {}
    for history in histories.values():
        for message in history:
            if message["type"] != "audio" or message["id"] in checks:
                continue
            content = json.loads(message["content"])
            checks[message["id"]] = {
                "playable": any(decodes(client, content[k], workdir)
                                for k in ("url_m4a", "url_mp3") if content.get(k)),
                "raw_kept": downloads(client, content["url_raw"], workdir / "raw"),
                "format": "m4a" if content.get("url_m4a") else "mp3" if content.get("url_mp3")
                else "raw",
            }  # fmt: skip
    return checks


def downloads(client: Client, url: str, target: Path) -> bool:
    command = client.curl("--max-time", "60", "-f", "-o", str(target),
                          f"https://{client.site['domain']}{url}")  # fmt: skip
    return subprocess.run(command, capture_output=True).returncode == 0


def decodes(client: Client, url: str, workdir: Path) -> bool:
    target = workdir / f"check{Path(url).suffix}"
    if not downloads(client, url, target):
        return False
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(target), "-f", "null", "-"],
                             capture_output=True, timeout=60)  # fmt: skip
    return decoded.returncode == 0


def wait_for_transcodes(client: Client, conversation_ids, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        pending = [m for c in conversation_ids for m in whole_history(client, c)
                   if m["type"] == "audio" and not json.loads(m["content"]).get("url_m4a")
                   and not json.loads(m["content"]).get("url_mp3")]  # fmt: skip
        if not pending:
            return
        time.sleep(3)


def sign_up_crowd(site, workdir, people: int, conversations: int):
    """People in conversations of equal size: ([clients], {conversation id: [names]})."""
    clients, run_tag = [], uuid.uuid4().hex[:6]  # another soak on the same stack: new names
    for number in range(people):
        client = Client(site, workdir, f"soak{run_tag}n{number}")
        status, answer = client.call("POST", "/api/auth/register",
                                     {"username": client.name, "password": PASSWORD})  # fmt: skip
        assert status == 201, answer
        clients.append(client)
    members, home = {}, {}
    size = max(2, people // conversations)
    for first in range(0, people - size + 1, size):
        circle = clients[first : first + size]
        body = {"participants": [c.name for c in circle[1:]], "title": f"soak {first}"}
        status, conversation = circle[0].call("POST", "/api/chat/conversations", body)
        assert status == 201, conversation
        members[conversation["id"]] = [c.name for c in circle]
        home.update({c.name: conversation["id"] for c in circle})
    return [c for c in clients if c.name in home], members, home


def run_soak(site, workdir: Path, schedule: list[Fault], run_in, recording: Path) -> Run:
    """The whole soak: sign-ups, listeners, senders and faults, then the final record."""
    clients, members, home = sign_up_crowd(site, workdir, PEOPLE, CONVERSATIONS)
    listeners = [Listener(c) for c in clients[::2]]
    for listener in listeners:
        listener.start()
    time.sleep(3)  # streams open before the first send
    start = time.time()
    until = start + SECONDS
    log, lock, windows = [], threading.Lock(), []
    interval = len(clients) / RATE
    senders = [threading.Thread(target=person_loop, daemon=True,
                                args=(c, home[c.name], until, interval, recording, log, lock))
               for c in clients]  # fmt: skip
    chaos = threading.Thread(target=run_faults, args=(schedule, run_in, start, until, windows))
    for thread in [*senders, chaos]:
        thread.start()
    for thread in [*senders, chaos]:
        thread.join(timeout=SECONDS + GIVE_UP_SECONDS + 300)
    listening_to = time.time()
    member_of = {
        c: next(cl for cl in clients if cl.name == names[0]) for c, names in members.items()
    }
    for conversation_id, client in member_of.items():
        wait_for_transcodes(client, [conversation_id])
    catch_up(listeners, log, members)
    for listener in listeners:
        listener.stop()
    histories = {c.name: {home[c.name]: whole_history(c, home[c.name])} for c in clients}
    voice = {}
    for client in member_of.values():
        voice.update(voice_checks(client, histories[client.name], workdir))
    return Run(
        operations=sorted(log, key=lambda op: op["started"]),
        histories=histories,
        members=members,
        streams={lis.client.name: lis.records for lis in listeners},
        listening={lis.client.name: (start, listening_to) for lis in listeners},
        faults=windows,
        voice=voice,
    )


def catch_up(listeners, log, members, timeout: float = 90) -> None:
    """Waits (bounded) until each stream holds every acknowledged message of its
    conversation: what is still missing then is what the checker reports as lost."""
    deadline = time.time() + timeout
    for listener in listeners:
        conversation = next(c for c, names in members.items() if listener.client.name in names)
        wanted = {op["message_id"] for op in log
                  if op["acknowledged"] and op["conversation"] == conversation}  # fmt: skip
        while time.time() < deadline:
            if wanted <= {r["message"]["id"] for r in listener.records}:
                break
            time.sleep(1)
