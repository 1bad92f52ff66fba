"""A small simulated chat run inside one process, recorded for the checker.

People send text through the Flask test client, some answers are cut after the server
committed (the client then tries again with the same key), every person listens on an
in-process event subscription (what their event stream would carry), and at the end each
reads their conversations' history. The checker's own tests run it against builds with a
defect put in (the key check off, an event publish dropped) to see the checker catch it.
"""

import queue
import time
import uuid

from app.extensions import db
from app.models import User
from app.services import events
from tests.conftest import ApiClient
from tests.soak.checker import Run, send_record

SEND = "/api/chat/messages"
# A send whose answer did not come is tried again at most this many times.
MAX_TRIES = 5


class Person:
    def __init__(self, app, name: str):
        self.name = name
        self.api = ApiClient(app.test_client())
        assert self.api.register(name).status_code == 201
        with app.app_context():
            user_id = db.session.execute(db.select(User.id).filter_by(username=name)).scalar_one()
            self.subscription = events.hub().subscribe(user_id, uuid.uuid4().hex * 2)
        self.received: list[dict] = []
        self.seq = 0

    def drain(self) -> None:
        """What the stream delivered since the last look, stamped with when it was seen."""
        while True:
            try:
                event = self.subscription.inbox.get_nowait()
            except queue.Empty:
                return
            if event and event["event"] == "message":
                self.received.append({"received": time.time(), "message": event["data"]})


def send(person: Person, conversation_id: int, cut_answer: bool, faults: list[dict]) -> dict:
    """One send as a retrying client makes it: its tries, each with its outcome. A cut
    answer is a fault of its own (its window goes in `faults`)."""
    person.seq += 1
    client_id = str(uuid.uuid4())
    token = f"{person.name}#{person.seq}:{client_id[:8]}"
    body = {
        "conversation_id": conversation_id,
        "content": f"message {token}",
        "client_id": client_id,
    }
    started, tries = time.time(), []
    for attempt in range(MAX_TRIES):
        begun = time.time()
        answer = person.api.post(SEND, body)
        if cut_answer and attempt == 0:
            tries.append({"start": begun, "end": time.time(), "status": 0})  # committed, unheard
            faults.append({"name": f"answer cut {len(faults) + 1}", "start": begun,
                           "end": time.time()})  # fmt: skip
            continue
        tries.append({"start": begun, "end": time.time(), "status": answer.status_code,
                      "message_id": (answer.get_json() or {}).get("id")})  # fmt: skip
        if answer.status_code < 500:
            break
    return send_record(person.name, conversation_id, "text", person.seq, client_id, token,
                       started, tries)  # fmt: skip


def simulated_run(app, people: int = 6, group: int = 3, rounds: int = 4, cut_every: int = 3) -> Run:
    """`people` in conversations of `group`, each sending `rounds` messages; every
    `cut_every`th send has its first answer cut after the server committed it."""
    crowd = [Person(app, f"person{n}") for n in range(people)]
    members = {}
    for start in range(0, people, group):
        circle = crowd[start : start + group]
        conversation_id = circle[0].api.conversation_with(*[p.name for p in circle[1:]])
        members[conversation_id] = [p.name for p in circle]
    listening_from = time.time()
    operations, faults, count = [], [], 0
    for _ in range(rounds):
        for conversation_id, names in members.items():
            for person in (p for p in crowd if p.name in names):
                count += 1
                operations.append(send(person, conversation_id, count % cut_every == 0, faults))
                for listener in crowd:
                    listener.drain()
    listening_to = time.time()
    histories = {
        p.name: {
            c: p.api.messages(c, limit=200).get_json()["messages"]
            for c, names in members.items() if p.name in names
        }
        for p in crowd
    }  # fmt: skip
    return Run(
        operations=operations,
        histories=histories,
        members=members,
        streams={p.name: p.received for p in crowd},
        listening={p.name: (listening_from, listening_to) for p in crowd},
        faults=faults,
    )
