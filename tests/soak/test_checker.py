"""The history checker catches what it must: duplicates (a build whose key check is off),
loss (a build that drops an event publish, a history missing a message), reordering,
unplayable voice and errors outside fault windows; it passes a clean run, and counts a
stream's late arrival without calling it a reorder (pages place messages by id)."""

import copy

import pytest

from app.services import events
from app.services.chat import client_keys
from tests.conftest import make_settings
from tests.soak.checker import Run, check
from tests.soak.inprocess import simulated_run

PEOPLE, GROUP, ROUNDS, CUT_EVERY = 6, 3, 4, 3
SENDS = PEOPLE * ROUNDS


@pytest.fixture
def settings(tmp_path):
    """A crowd signs up and sends from one address: limits that fit the run."""
    busy = "10000 per minute"
    return make_settings(tmp_path, ratelimit_register=busy, ratelimit_post=busy)


@pytest.fixture
def clean_run(app) -> Run:
    return simulated_run(app, PEOPLE, GROUP, ROUNDS, CUT_EVERY)


def test_a_clean_run_passes_with_every_figure(clean_run, tmp_path):
    verdict = check(clean_run, grace=0)  # the cut answers' windows end as their sends do
    assert verdict.ok, verdict.table()
    assert (verdict.operations, verdict.acknowledged) == (SENDS, SENDS)
    assert verdict.lost == verdict.duplicated == verdict.reordered == verdict.lost_live == []
    # Each cut answer is one failed try, inside its own window; each reached every listener.
    assert verdict.errors_in_faults == SENDS // CUT_EVERY
    assert len(verdict.delivery) == SENDS * GROUP
    # Each cut answer's fault: its one failed try, then the retry answered just after it.
    assert len(verdict.recovery) == SENDS // CUT_EVERY
    for found in verdict.recovery.values():
        assert found.failed == 1 and found.first_success is not None and found.first_success >= 0
    table = verdict.table()
    assert "verdict" in table and "PASS" in table and "delivery p99" in table
    clean_run.save(tmp_path / "run")
    reloaded = check(Run.load(tmp_path / "run"), grace=0)
    assert (reloaded.ok, reloaded.acknowledged, reloaded.delivery) == (
        True,
        SENDS,
        verdict.delivery,
    )


def test_a_build_without_the_key_check_shows_duplicates(app, monkeypatch):
    """The server ignores client_id (as before keys): each cut send is stored twice."""
    monkeypatch.setattr(client_keys, "parse", lambda value: None)
    verdict = check(simulated_run(app, PEOPLE, GROUP, ROUNDS, CUT_EVERY))
    assert not verdict.ok
    # Every cut send, twice in the history of each of its conversation's members.
    assert len(verdict.duplicated) == SENDS // CUT_EVERY * GROUP, verdict.table()
    assert "2 copies" in verdict.duplicated[0]
    assert verdict.lost == [] and "FAIL" in verdict.table()


def test_a_build_that_drops_an_event_publish_shows_the_loss(app, monkeypatch):
    """Every fifth new-message publish is dropped: the histories have it, the streams not."""
    real_publish = events.EventHub.publish
    published = []

    def dropping(self, user_ids, event, data):
        if event == "message":
            published.append(data["id"])
            if len(published) % 5 == 0:
                return
        real_publish(self, user_ids, event, data)

    monkeypatch.setattr(events.EventHub, "publish", dropping)
    verdict = check(simulated_run(app, PEOPLE, GROUP, ROUNDS, CUT_EVERY))
    dropped = len(published) // 5
    assert not verdict.ok and dropped > 0
    assert len(verdict.lost_live) == dropped * GROUP, verdict.table()
    assert verdict.lost == [] and verdict.duplicated == []


def test_a_history_missing_a_message_is_a_loss(clean_run):
    run = copy.deepcopy(clean_run)
    conversation_id = next(iter(run.members))
    person = run.members[conversation_id][1]
    removed = run.histories[person][conversation_id].pop(2)
    verdict = check(run)
    assert not verdict.ok
    assert len(verdict.lost) == 1 and person in verdict.lost[0], verdict.table()
    assert removed["content"].split()[-1].split(":")[0] in verdict.lost[0]


def test_a_sender_out_of_order_is_a_reorder(clean_run):
    run = copy.deepcopy(clean_run)
    conversation_id = next(iter(run.members))
    person = run.members[conversation_id][0]
    history = run.histories[person][conversation_id]
    sender = history[0]["sender"]
    mine = [i for i, m in enumerate(history) if m["sender"] == sender]
    history[mine[0]], history[mine[1]] = history[mine[1]], history[mine[0]]
    verdict = check(run)
    assert not verdict.ok
    assert len(verdict.reordered) == 1 and sender in verdict.reordered[0], verdict.table()
    assert verdict.lost == verdict.duplicated == []


def test_a_redelivered_event_is_counted_but_not_a_duplicate(clean_run):
    run = copy.deepcopy(clean_run)
    stream = next(iter(run.streams.values()))
    stream.append(copy.deepcopy(stream[0]))
    verdict = check(run)
    assert verdict.ok and verdict.redelivered == 1


def test_an_older_message_arriving_late_on_a_stream_is_counted_and_placed_by_id(clean_run):
    run = copy.deepcopy(clean_run)
    person, stream = next(iter(run.streams.items()))
    conversation_id = stream[0]["message"]["conversation_id"]
    mine = [i for i, r in enumerate(stream) if r["message"]["conversation_id"] == conversation_id]
    stream[mine[0]], stream[mine[1]] = stream[mine[1]], stream[mine[0]]
    verdict = check(run)
    assert verdict.ok and verdict.arrived_late == 1, verdict.table()
    assert "arrived after a newer one (placed by id)  1" in verdict.table()


def test_unplayable_voice_and_errors_outside_faults_fail_the_run(clean_run):
    run = copy.deepcopy(clean_run)
    voice_op = run.operations[0]
    voice_op["kind"] = "voice"
    run.voice = {voice_op["message_id"]: {"playable": False, "raw_kept": False}}
    run.faults = []  # the cut answers' failed tries are now outside any fault window
    verdict = check(run)
    assert len(verdict.unplayable) == 1
    assert len(verdict.errors_outside) == SENDS // CUT_EVERY
    assert all("(text): 0 (no JSON answer) at " in line for line in verdict.errors_outside)
    run.voice[voice_op["message_id"]]["raw_kept"] = True
    assert check(run).unplayable == []
