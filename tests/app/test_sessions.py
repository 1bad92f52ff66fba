"""Sessions end on the server: logout, everywhere, password change; CSRF rotation; guessing."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import UserSession, utcnow
from app.services.accounts import sessions
from tests.conftest import ApiClient

PASSWORD = "correct horse battery"


def copy_of_cookie(app, api: ApiClient) -> ApiClient:
    """Another browser holding a copy of `api`'s session cookie (a stolen cookie)."""
    thief = ApiClient(app.test_client())
    cookie = api.client.get_cookie("session")
    thief.client.set_cookie("session", cookie.value)
    return thief


def test_logout_ends_the_session_for_a_copied_cookie(app, api_for):
    alice = api_for("alice")
    thief = copy_of_cookie(app, alice)
    assert thief.get("/api/me").status_code == 200
    assert alice.post("/api/auth/logout").status_code == 200
    assert thief.get("/api/me").status_code == 401
    assert alice.get("/api/me").status_code == 401


def test_the_cookie_is_rewritten_only_when_the_session_is_touched(app, api_for):
    """A stable cookie (Nginx keys voice-file decisions on it) whose expiry still moves on."""
    alice = api_for("alice")
    assert "Set-Cookie" not in alice.get("/api/me").headers
    with app.app_context():
        login = db.session.execute(db.select(UserSession)).scalar_one()
        login.last_seen_at = utcnow() - sessions.TOUCH_INTERVAL - timedelta(minutes=1)
        db.session.commit()
    touched = alice.get("/api/me")
    assert touched.status_code == 200
    assert (
        "session=" in touched.headers["Set-Cookie"] and "Expires=" in touched.headers["Set-Cookie"]
    )
    assert "Set-Cookie" not in alice.get("/api/me").headers


def test_log_out_everywhere_ends_every_session(api_for):
    api_for("alice")
    phone, laptop = api_for(), api_for()
    assert phone.login("alice").status_code == 200
    assert laptop.login("alice").status_code == 200
    response = laptop.post("/api/auth/logout_all")
    assert response.status_code == 200
    assert response.get_json()["sessions_ended"] == 3
    assert phone.get("/api/me").status_code == 401
    assert laptop.get("/api/me").status_code == 401


def test_password_change_ends_other_sessions_and_keeps_this_one(api_for):
    alice = api_for("alice")
    phone = api_for()
    assert phone.login("alice").status_code == 200
    response = alice.post(
        "/api/auth/password",
        {"current_password": PASSWORD, "new_password": "a much better passphrase"},
    )
    assert response.status_code == 200
    assert response.get_json()["other_sessions_ended"] == 1
    assert alice.get("/api/me").status_code == 200
    assert phone.get("/api/me").status_code == 401
    assert api_for().login("alice").status_code == 401
    assert api_for().login("alice", "a much better passphrase").status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "fragment"),
    [
        ("wrong password!!", "a much better passphrase", "current password"),
        (PASSWORD, "short", "10-256"),
        (PASSWORD, "1234567890", "common"),
    ],
)
def test_password_change_refusals_change_nothing(api_for, current, new, fragment):
    alice = api_for("alice")
    response = alice.post("/api/auth/password", {"current_password": current, "new_password": new})
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    assert alice.get("/api/me").status_code == 200
    assert api_for().login("alice").status_code == 200


def test_csrf_token_changes_at_login_and_the_old_one_stops_working(api_for):
    api_for("alice")
    api = api_for()
    before = api.csrf()
    response = api.login("alice")
    assert response.status_code == 200
    after = response.get_json()["csrf_token"]
    assert after != before
    stale = api.client.post(
        "/api/auth/logout", json={}, headers={"X-CSRFToken": before}
    )  # a token planted before login is worthless after it
    assert stale.status_code == 400 and "CSRF" in stale.get_json()["error"]


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("12345678", "10-256"),
        ("1234567890", "common"),
        ("qwertyuiop", "common"),
        ("Alice_Longname", "same as the username"),
    ],
)
def test_password_policy_at_registration(api_for, password, fragment):
    response = api_for().register("alice_longname", password)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    assert api_for().login("alice_longname", password).status_code == 401


def test_guessing_one_account_is_slowed_down_from_any_address(api_for):
    api_for("alice")
    guesser = api_for()
    for attempt in range(5):
        address = {"REMOTE_ADDR": f"203.0.113.{attempt}"}
        response = guesser.client.post(
            "/api/auth/login",
            json={"username": "ALICE", "password": f"guess number {attempt}"},
            headers={"X-CSRFToken": guesser.csrf()},
            environ_base=address,
        )
        assert response.status_code == 401
    # The sixth try must wait, even with the right password and from a new address.
    blocked = guesser.client.post(
        "/api/auth/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-CSRFToken": guesser.csrf()},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "try again" in blocked.get_json()["error"]


def test_the_owner_is_not_locked_out_by_a_guesser(api_for):
    owner = api_for("alice")  # registering logs in, and this browser is now known
    assert owner.post("/api/auth/logout").status_code == 200
    assert owner.login("alice").status_code == 200
    assert owner.post("/api/auth/logout").status_code == 200
    guesser = api_for()
    guesser.client.environ_base["REMOTE_ADDR"] = "203.0.113.9"  # its own per-address limit
    for attempt in range(8):
        guesser.login("alice", f"guess number {attempt}")
    assert guesser.login("alice").status_code == 429
    assert owner.login("alice").status_code == 200
