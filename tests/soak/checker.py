"""The soak's history checker: reads a run's record offline and judges the whole of it.

Jepsen's way: the clients log every operation with its outcome and times, faults come and
go on a schedule, and only afterwards is the whole history checked. The record (see
`Run`) is a JSONL operation log, each participant's final history and live stream, the
fault windows and the voice checks. It fails the run on any loss, duplicate or reorder:

- every acknowledged send is in every participant's final history exactly once, and in
  every live stream that was listening when it was sent;
- an unacknowledged send (its answer never came) is stored at most once;
- each sender's messages appear in the order they were sent (a client sends one at a
  time, the next only after the previous was acknowledged);
- every voice message decodes (m4a or mp3) or its raw file is kept and named;
- errors (failed tries) fall inside fault windows (plus a grace period);
then reports the recovery time per fault and delivery p50/p99 outside fault windows.

A send is matched to stored messages by its client key and by the unique token its
content carries, so a server that ignored the key (storing NULL) still shows duplicates.
The same message id arriving twice on a live stream (a resume's backlog overlapping a
live event) is counted as redelivered, not duplicated: pages keep one per id. One arriving
after a newer message of its conversation (a resume replaying what a process delivered
only locally during a fault) is counted too: pages place each message by its id, so the
order a person sees is by id, and that is the order checked.
"""

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# A failed try this soon after a fault ended still belongs to it (connections re-open).
FAULT_GRACE_SECONDS = 10.0


@dataclass
class Run:
    """What a run recorded. `operations`: one dict per send, as logged (see `send_record`);
    `histories`: participant -> conversation id -> messages (API shape) at the end;
    `streams`: participant -> [{"received": t, "message": {...}}] for live listeners;
    `listening`: participant -> (from, to) times its stream covered;
    `members`: conversation id -> participants; `faults`: [{"name", "start", "end"}];
    `voice`: message id -> {"playable": bool, "raw_kept": bool, "format": str}."""

    operations: list[dict]
    histories: dict[str, dict[int, list[dict]]]
    members: dict[int, list[str]]
    streams: dict[str, list[dict]] = field(default_factory=dict)
    listening: dict[str, tuple[float, float]] = field(default_factory=dict)
    faults: list[dict] = field(default_factory=list)
    voice: dict[int, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> "Run":
        """A run written by `save` (operations.jsonl + record.json)."""
        lines = (folder / "operations.jsonl").read_text().splitlines()
        operations = [json.loads(line) for line in lines if line]
        record = json.loads((folder / "record.json").read_text())
        return cls(
            operations=operations,
            histories={
                person: {int(c): messages for c, messages in by_conversation.items()}
                for person, by_conversation in record["histories"].items()
            },
            members={int(c): people for c, people in record["members"].items()},
            streams=record.get("streams", {}),
            listening={p: tuple(span) for p, span in record.get("listening", {}).items()},
            faults=record.get("faults", []),
            voice={int(m): check for m, check in record.get("voice", {}).items()},
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "operations.jsonl").open("w") as log:
            for operation in self.operations:
                log.write(json.dumps(operation) + "\n")
        record = {
            "histories": self.histories, "members": self.members, "streams": self.streams,
            "listening": self.listening, "faults": self.faults, "voice": self.voice,
        }  # fmt: skip
        (folder / "record.json").write_text(json.dumps(record))


def send_record(sender, conversation_id, kind, seq, client_id, token, started, tries) -> dict:
    """One send as a client logs it. `tries`: [{"start", "end", "status"}] (status 0: no
    answer); acknowledged when its last try got a 200 or 201 (then `message_id`)."""
    last = tries[-1] if tries else {}
    acknowledged = last.get("status") in (200, 201)
    return {
        "op": "send", "sender": sender, "conversation": conversation_id, "kind": kind,
        "seq": seq, "client_id": client_id, "token": token, "started": started,
        "acknowledged": acknowledged, "acked_at": last.get("end") if acknowledged else None,
        "message_id": last.get("message_id") if acknowledged else None, "tries": tries,
    }  # fmt: skip


@dataclass
class Verdict:
    operations: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    reordered: list[str] = field(default_factory=list)
    lost_live: list[str] = field(default_factory=list)
    unplayable: list[str] = field(default_factory=list)
    errors_in_faults: int = 0
    errors_outside: list[str] = field(default_factory=list)
    redelivered: int = 0
    arrived_late: int = 0
    recovery: dict[str, "Recovery"] = field(default_factory=dict)
    delivery: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost or self.duplicated or self.reordered or self.lost_live
            or self.unplayable or self.errors_outside
        )  # fmt: skip

    def table(self) -> str:
        rows = [
            ("operations", self.operations), ("acknowledged", self.acknowledged),
            ("lost", len(self.lost)), ("duplicated", len(self.duplicated)),
            ("reordered", len(self.reordered)), ("lost on a live stream", len(self.lost_live)),
            ("redelivered on a stream (kept once)", self.redelivered),
            ("arrived after a newer one (placed by id)", self.arrived_late),
            ("voice neither playable nor raw kept", len(self.unplayable)),
            ("failed tries inside fault windows", self.errors_in_faults),
            ("failed tries outside fault windows", len(self.errors_outside)),
        ]  # fmt: skip
        rows += [(f"after {name}", str(found)) for name, found in self.recovery.items()]
        if self.delivery:
            rows.append(
                ("delivery p50 outside faults (ms)", f"{percentile(self.delivery, 50):.0f}")
            )
            rows.append(
                ("delivery p99 outside faults (ms)", f"{percentile(self.delivery, 99):.0f}")
            )
        rows.append(("verdict", "PASS" if self.ok else "FAIL"))
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        named = {
            "lost": self.lost, "duplicated": self.duplicated, "reordered": self.reordered,
            "lost live": self.lost_live, "unplayable": self.unplayable,
            "error": self.errors_outside,
        }  # fmt: skip
        for label, items in named.items():
            lines += [f"  {label}: {item}" for item in items[:10]]
        return "\n".join(lines)


def percentile(values: list[float], pct: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def check(run: Run, grace: float = FAULT_GRACE_SECONDS) -> Verdict:
    """The verdict on a run; `grace`: seconds after a fault's end that still belong to it."""
    verdict = Verdict(operations=len(run.operations))
    sends = [op for op in run.operations if op["op"] == "send"]
    verdict.acknowledged = sum(op["acknowledged"] for op in sends)
    check_histories(run, sends, verdict)
    check_streams(run, sends, verdict, grace)
    check_voice(run, sends, verdict)
    check_errors(run, sends, verdict, grace)
    return verdict


def matches(message: dict, op: dict) -> bool:
    if op["client_id"] and message.get("client_id") == op["client_id"]:
        return True
    return bool(op.get("token")) and message["type"] == "text" and op["token"] in message["content"]


def check_histories(run: Run, sends: list[dict], verdict: Verdict) -> None:
    for op in sends:
        name = f"{op['sender']}#{op['seq']} in conversation {op['conversation']}"
        for person in run.members[op["conversation"]]:
            found = [m for m in run.histories[person][op["conversation"]] if matches(m, op)]
            if len(found) > 1:
                verdict.duplicated.append(f"{name}: {len(found)} copies for {person}")
            elif op["acknowledged"] and not found:
                verdict.lost.append(f"{name}: acknowledged, missing for {person}")
    for person, by_conversation in run.histories.items():
        for conversation_id, history in by_conversation.items():
            check_order(history, sends, conversation_id, person, verdict.reordered)


def check_order(history, sends, conversation_id, person, reordered: list[str]) -> None:
    """Each sender's acknowledged messages, in history order, have increasing seq."""
    position = {m["id"]: index for index, m in enumerate(history)}
    by_sender = defaultdict(list)
    for op in sends:
        placed = op["conversation"] == conversation_id and op["message_id"] in position
        if placed and op["acknowledged"]:
            by_sender[op["sender"]].append((position[op["message_id"]], op["seq"]))
    for sender, placed in by_sender.items():
        seqs = [seq for _, seq in sorted(placed)]
        if seqs != sorted(seqs):
            reordered.append(f"{sender} in conversation {conversation_id} for {person}: {seqs}")


def check_streams(run: Run, sends: list[dict], verdict: Verdict, grace: float) -> None:
    fault_windows = [(f["start"], f["end"] + grace) for f in run.faults]
    for person, records in run.streams.items():
        start, end = run.listening[person]
        received = {}
        for record in records:
            message_id = record["message"]["id"]
            if message_id in received:
                verdict.redelivered += 1
            else:
                received[message_id] = record["received"]
        for op in sends:
            if not op["acknowledged"] or person not in run.members[op["conversation"]]:
                continue
            if not (start <= op["started"] and op["acked_at"] <= end):
                continue
            name = f"{op['sender']}#{op['seq']} (message {op['message_id']})"
            if op["message_id"] not in received:
                verdict.lost_live.append(f"{name}: never on {person}'s stream")
                continue
            arrived = received[op["message_id"]]
            if not any(s <= op["started"] <= e or s <= arrived <= e for s, e in fault_windows):
                verdict.delivery.append(max(0.0, arrived - op["started"]) * 1000)
        # The page keeps one message per id, each in its place by id (MessageList.add).
        first_arrivals = list({r["message"]["id"]: r["message"] for r in records}.values())
        verdict.arrived_late += count_arrived_late(first_arrivals)
        stream_history = sorted(first_arrivals, key=lambda m: m["id"])
        for conversation_id in {m["conversation_id"] for m in stream_history}:
            in_conversation = [m for m in stream_history if m["conversation_id"] == conversation_id]
            check_order(in_conversation, sends, conversation_id, f"{person}'s stream",
                        verdict.reordered)  # fmt: skip


def count_arrived_late(arrivals: list[dict]) -> int:
    """Messages that came after a newer one of their conversation (a resume's replay)."""
    newest, late = {}, 0
    for message in arrivals:
        conversation_id = message["conversation_id"]
        late += message["id"] < newest.get(conversation_id, 0)
        newest[conversation_id] = max(message["id"], newest.get(conversation_id, 0))
    return late


def check_voice(run: Run, sends: list[dict], verdict: Verdict) -> None:
    for op in sends:
        if op["kind"] != "voice" or not op["acknowledged"]:
            continue
        result = run.voice.get(op["message_id"], {})
        if not (result.get("playable") or result.get("raw_kept")):
            verdict.unplayable.append(f"message {op['message_id']}: {result or 'not checked'}")


def check_errors(run: Run, sends: list[dict], verdict: Verdict, grace: float) -> None:
    """Failed tries inside a fault window (plus grace) are expected; others fail the run.

    Per fault (`Recovery`): its failed tries; how long after its repair the last of them
    ended (0: none after); and how long after its repair the first try that began then
    was answered (the service seen working again).
    """
    recovery = {f["name"]: Recovery() for f in run.faults}  # names are unique per run
    for op in sends:
        for attempt in op["tries"]:
            if attempt["status"] in (200, 201):
                note_success(run.faults, recovery, attempt)
                continue
            windows = [f for f in run.faults
                       if f["start"] <= attempt["end"] <= f["end"] + grace]  # fmt: skip
            if not windows:
                said = attempt.get("error") or "no JSON answer"
                verdict.errors_outside.append(
                    f"{op['sender']}#{op['seq']} ({op['kind']}): {attempt['status']}"
                    f" ({said}) at {attempt['end']:.1f}"
                )
                continue
            verdict.errors_in_faults += 1
            for fault in windows:
                found = recovery[fault["name"]]
                found.failed += 1
                found.last_failure = max(found.last_failure, attempt["end"] - fault["end"])
    verdict.recovery = recovery


def note_success(faults: list[dict], recovery: dict, attempt: dict) -> None:
    for fault in faults:
        if attempt["start"] >= fault["end"]:
            found = recovery[fault["name"]]
            after = attempt["end"] - fault["end"]
            found.first_success = (
                after if found.first_success is None else min(found.first_success, after)
            )


@dataclass
class Recovery:
    failed: int = 0
    last_failure: float = 0.0
    first_success: float | None = None

    def __str__(self) -> str:
        first = "never" if self.first_success is None else f"+{self.first_success:.1f} s"
        return f"{self.failed} failed tries, last +{self.last_failure:.1f} s, first answer {first}"


def main(argv: list[str]) -> int:
    """python -m tests.soak.checker RUN_FOLDER: prints the table; exit status 1 on FAIL."""
    verdict = check(Run.load(Path(argv[1])))
    print(verdict.table())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv))
