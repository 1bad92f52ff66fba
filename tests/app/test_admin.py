"""Administration: the CLI, invites, registration modes, disabling, the admin API and page."""

import contextlib
import dataclasses
import re
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from app.commands.admin import invites_group, registration_group, users
from app.extensions import db
from app.models import Invite, User, utcnow
from tests.app.test_live_and_limits import HttpUser, read_events
from tests.app.test_sessions import copy_of_cookie
from tests.conftest import ROOT, app_environment

PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "the admins own passphrase"
ADMIN_ENDPOINTS = [
    ("get", "/admin", None),
    ("get", "/api/admin/users", None),
    ("post", "/api/admin/users/1/disable", None),
    ("post", "/api/admin/users/1/enable", None),
    ("get", "/api/admin/invites", None),
    ("post", "/api/admin/invites", {"uses": 2}),
    ("post", "/api/admin/invites/1/revoke", None),
    ("get", "/api/admin/registration", None),
    ("put", "/api/admin/registration", {"mode": "closed"}),
]


def cli(app, command, args, password=None):
    """Runs an admin command as natter-admin would, the password on standard input."""
    runner = app.test_cli_runner()
    return runner.invoke(command, args, input=None if password is None else password + "\n")


@pytest.fixture
def admin(app, api_for):
    """An admin made with the CLI, logged in through the API."""
    result = cli(app, users, ["create", "boss", "--admin"], ADMIN_PASSWORD)
    assert result.exit_code == 0, result.output
    api = api_for()
    assert api.login("boss", ADMIN_PASSWORD).status_code == 200
    return api


def user_named(app, name) -> User:
    with app.app_context():
        return db.session.execute(db.select(User).filter_by(username=name)).scalar_one()


def put(api, path, body):
    return api.client.put(path, json=body, headers={"X-CSRFToken": api.csrf()})


# --- the CLI ---------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin_never_from_arguments(app, api_for):
    result = cli(app, users, ["create", "carol"], "carols long passphrase")
    assert result.exit_code == 0 and "created user carol" in result.output
    assert "carols long passphrase" not in result.output
    assert api_for().login("carol", "carols long passphrase").status_code == 200
    assert not user_named(app, "carol").is_admin
    extra = cli(app, users, ["create", "dave", "a password given as argument"], "x" * 12)
    assert extra.exit_code == 2  # no such argument: a password never goes on the command line


def test_users_create_refuses_a_weak_password_and_a_taken_name(app):
    weak = cli(app, users, ["create", "carol"], "short")
    assert weak.exit_code == 1 and "10-256" in weak.output
    with app.app_context():
        assert db.session.execute(db.select(User).filter_by(username="carol")).first() is None
    assert cli(app, users, ["create", "carol"], PASSWORD).exit_code == 0
    taken = cli(app, users, ["create", "Carol"], PASSWORD)
    assert taken.exit_code == 1 and "taken" in taken.output


def test_users_create_if_missing_is_idempotent_and_makes_an_admin(app, api_for):
    assert cli(app, users, ["create", "carol"], PASSWORD).exit_code == 0
    again = cli(app, users, ["create", "carol", "--admin", "--if-missing"], "another password!")
    assert again.exit_code == 0 and "made an admin" in again.output
    third = cli(app, users, ["create", "carol", "--admin", "--if-missing"], "another password!")
    assert third.exit_code == 0 and "unchanged" in third.output
    assert user_named(app, "carol").is_admin
    assert api_for().login("carol").status_code == 200  # the password stayed as it was


def test_users_list_disable_enable(app, api_for, admin):
    api_for("alice")
    listed = cli(app, users, ["list"])
    assert listed.exit_code == 0
    assert listed.output.splitlines() == ["1\tboss\tadmin", "2\talice\t-"]
    assert cli(app, users, ["disable", "ALICE"]).output == "disabled alice\n"
    assert cli(app, users, ["list"]).output.splitlines()[1] == "2\talice\tdisabled"
    refused = api_for().login("alice")
    assert refused.status_code == 403 and refused.get_json()["code"] == "account_disabled"
    assert cli(app, users, ["enable", "alice"]).exit_code == 0
    assert api_for().login("alice").status_code == 200
    missing = cli(app, users, ["disable", "nobody"])
    assert missing.exit_code == 1 and "no such user" in missing.output


def test_reset_password_ends_every_session(app, api_for):
    alice = api_for("alice")
    result = cli(app, users, ["reset-password", "alice"], "a brand new passphrase")
    assert result.exit_code == 0 and "1 session(s) ended" in result.output
    assert alice.get("/api/me").status_code == 401
    assert api_for().login("alice").status_code == 401
    assert api_for().login("alice", "a brand new passphrase").status_code == 200
    weak = cli(app, users, ["reset-password", "alice"], "password123")
    assert weak.exit_code == 1
    assert api_for().login("alice", "a brand new passphrase").status_code == 200


def test_invites_create_list_revoke(app, settings, api_for):
    created = cli(app, invites_group, ["create", "--uses", "3", "--expires", "2d"])
    assert created.exit_code == 0, created.output
    link, summary = created.output.splitlines()
    assert link.startswith("/login?invite=") and "3 use(s)" in summary
    token = link.removeprefix("/login?invite=")
    with app.app_context():
        invite = db.session.execute(db.select(Invite)).scalar_one()
        assert token not in (invite.token_hash,) and len(invite.token_hash) == 64
        lifetime = invite.expires_at - utcnow()
        assert timedelta(days=1, hours=23) < lifetime <= timedelta(days=2)
    assert cli(app, invites_group, ["list"]).output.startswith("1\tactive\t3/3\t")
    assert cli(app, invites_group, ["revoke", "1"]).exit_code == 0
    assert cli(app, invites_group, ["list"]).output.startswith("1\trevoked\t3/3\t")
    assert cli(app, invites_group, ["revoke", "99"]).exit_code == 1
    for bad in (["--uses", "0"], ["--expires", "forever"], ["--expires", "400d"]):
        assert cli(app, invites_group, ["create", *bad]).exit_code == 1
    assert len(cli(app, invites_group, ["list"]).output.splitlines()) == 1


def test_invite_links_carry_the_public_url(tmp_path):
    from app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, public_url="https://chat.example.test/"))
    with app.app_context():
        db.create_all()
    output = cli(app, invites_group, ["create"]).output
    assert output.startswith("https://chat.example.test/login?invite=")
    with app.app_context():
        db.engine.dispose()


def test_registration_mode_from_the_cli(app, api_for):
    assert cli(app, registration_group, ["show"]).output == "open\n"
    assert cli(app, registration_group, ["set", "closed"]).exit_code == 0
    assert cli(app, registration_group, ["show"]).output == "closed\n"
    assert cli(app, registration_group, ["set", "sometimes"]).exit_code == 1
    assert cli(app, registration_group, ["show"]).output == "closed\n"


# --- registration modes and invites ------------------------------------------------------


def set_mode(app, mode):
    assert cli(app, registration_group, ["set", mode]).exit_code == 0


def new_invite(app, *args) -> str:
    result = cli(app, invites_group, ["create", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[0].removeprefix("/login?invite=")


def register(api_for, name, invite=None):
    body = {"username": name, "password": PASSWORD}
    if invite is not None:
        body["invite"] = invite
    return api_for().post("/api/auth/register", body)


def test_open_mode_is_the_default(api_for):
    assert register(api_for, "alice").status_code == 201


def test_closed_mode_refuses_registration_with_a_clear_403(app, api_for):
    set_mode(app, "closed")
    response = register(api_for, "alice", invite=new_invite(app))
    assert response.status_code == 403
    assert response.get_json()["code"] == "registration_closed"
    assert "closed" in response.get_json()["error"]
    assert api_for().login("alice").status_code == 401


def test_the_environment_sets_the_default_mode(tmp_path, api_for):
    from app import create_app
    from tests.conftest import ApiClient, make_settings

    app = create_app(make_settings(tmp_path, registration_mode="invite"))
    with app.app_context():
        db.create_all()
    api = ApiClient(app.test_client())
    response = api.register("alice")
    assert response.status_code == 403 and response.get_json()["code"] == "invite_required"
    with app.app_context():
        db.engine.dispose()


def test_invite_mode_needs_a_valid_invite_and_counts_its_uses_down(app, api_for):
    set_mode(app, "invite")
    assert register(api_for, "alice").get_json()["code"] == "invite_required"
    token = new_invite(app, "--uses", "2")
    assert register(api_for, "alice", token).status_code == 201
    assert cli(app, invites_group, ["list"]).output.startswith("1\tactive\t1/2\t")
    assert register(api_for, "bob", token).status_code == 201
    used_up = register(api_for, "carol", token)
    assert used_up.status_code == 403 and used_up.get_json()["code"] == "invite_invalid"
    assert cli(app, invites_group, ["list"]).output.startswith("1\tused_up\t0/2\t")


def test_a_refused_registration_keeps_the_invites_use(app, api_for):
    assert cli(app, users, ["create", "taken"], PASSWORD).exit_code == 0
    set_mode(app, "invite")
    token = new_invite(app)
    assert register(api_for, "Taken", token).get_json()["code"] == "username_taken"
    weak = api_for().post(
        "/api/auth/register", {"username": "alice", "password": "short", "invite": token}
    )
    assert weak.get_json()["code"] == "weak_password"
    assert cli(app, invites_group, ["list"]).output.startswith("1\tactive\t1/1\t")
    assert register(api_for, "alice", token).status_code == 201


def test_two_registrations_cannot_both_take_the_last_use(app, settings, api_for):
    # Every racer is 127.0.0.1: lift the per-address limit so only the invite decides.
    app.config["SETTINGS"] = dataclasses.replace(settings, ratelimit_register="100 per minute")
    set_mode(app, "invite")
    token = new_invite(app, "--uses", "2")
    assert register(api_for, "first", token).status_code == 201
    racers = 6
    barrier, statuses = threading.Barrier(racers), []

    def race(number):
        api = api_for()
        api.csrf()
        barrier.wait(timeout=30)
        statuses.append(register(lambda: api, f"racer{number}", token).status_code)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [201] + [403] * (racers - 1)
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar() == 2
        assert db.session.get(Invite, 1).uses_left == 0


def expire(app, invite_id):
    with app.app_context():
        db.session.get(Invite, invite_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()


@pytest.mark.parametrize("spoil", ["expired", "used up", "revoked", "wrong"])
def test_every_unusable_invite_gets_the_same_clear_error(app, api_for, spoil):
    set_mode(app, "invite")
    token = new_invite(app)
    if spoil == "expired":
        expire(app, 1)
    elif spoil == "used up":
        assert register(api_for, "first", token).status_code == 201
    elif spoil == "revoked":
        assert cli(app, invites_group, ["revoke", "1"]).exit_code == 0
    else:
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = register(api_for, "alice", token)
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "this invite link is not valid: it may be wrong, expired, used up or revoked",
        "code": "invite_invalid",
    }
    assert api_for().login("alice").status_code == 401


# --- disabling ---------------------------------------------------------------------------


def test_disabling_ends_a_copied_session_at_once_and_keeps_the_messages(app, api_for, admin):
    alice, bob = api_for("alice"), api_for("bob")
    conversation = alice.conversation_with("bob")
    assert alice.send(conversation, "hello bob").status_code == 201
    thief = copy_of_cookie(app, alice)
    assert thief.get("/api/me").status_code == 200
    alice_id = user_named(app, "alice").id
    response = admin.post(f"/api/admin/users/{alice_id}/disable")
    assert response.status_code == 200 and response.get_json()["disabled"] is True
    assert thief.get("/api/me").status_code == 401
    assert alice.get("/api/me").status_code == 401
    assert alice.get("/chat").status_code == 302
    messages = bob.messages(conversation).get_json()["messages"]
    assert [m["content"] for m in messages] == ["hello bob"]
    assert admin.post(f"/api/admin/users/{alice_id}/enable").get_json()["disabled"] is False
    assert api_for().login("alice").status_code == 200
    assert thief.get("/api/me").status_code == 401  # the old session stays ended


def test_a_wrong_password_for_a_disabled_account_says_nothing_about_it(app, api_for):
    api_for("alice")
    assert cli(app, users, ["disable", "alice"]).exit_code == 0
    wrong = api_for().login("alice", "not the password at all")
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "wrong_credentials"


def test_an_admin_cannot_disable_themselves(app, admin):
    boss_id = user_named(app, "boss").id
    response = admin.post(f"/api/admin/users/{boss_id}/disable")
    assert response.status_code == 409 and response.get_json()["code"] == "cannot_disable_self"
    assert admin.get("/api/me").status_code == 200


def test_disabling_closes_the_accounts_event_streams(redis_server, gunicorn_factory, tmp_path):
    base = gunicorn_factory({"REDIS_URL": redis_server}, workers=2)
    env = app_environment(tmp_path, REDIS_URL=redis_server)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "users", "create", "boss", "--admin"],
        cwd=ROOT, env=env, input=ADMIN_PASSWORD + "\n", text=True, check=True,
        capture_output=True, timeout=60,
    )  # fmt: skip
    boss = HttpUser(base, "boss", register=False)
    assert boss.login(ADMIN_PASSWORD).status_code == 200
    bob = HttpUser(base, "bob")
    bob_id = bob.http.get(f"{base}/api/me", timeout=5).json()["id"]
    with contextlib.closing(
        bob.http.get(f"{base}/api/chat/events", stream=True, timeout=10)
    ) as stream:
        assert boss.post(f"/api/admin/users/{bob_id}/disable").status_code == 200
        assert read_events(stream, wanted=1, timeout=10) == [("stream_closed", {"reason": "ended"})]
    assert bob.http.get(f"{base}/api/chat/events", timeout=5).status_code == 401


# --- the admin API -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_everyone_but_admins_gets_404_on_every_admin_endpoint(app, api_for, who):
    cli(app, users, ["create", "boss", "--admin"], ADMIN_PASSWORD)
    api = api_for("alice" if who == "member" else None)
    for method, path, body in ADMIN_ENDPOINTS:
        if method == "get":
            response = api.get(path)
        elif method == "put":
            response = put(api, path, body)
        else:
            response = api.post(path, body)
        assert response.status_code == 404, (method, path, response.status_code)
    # Even without a CSRF token the answer is the same 404.
    assert api.client.post("/api/admin/invites", json={}).status_code == 404
    assert cli(app, registration_group, ["show"]).output == "open\n"
    assert cli(app, invites_group, ["list"]).output == ""
    assert "Administration" not in api.get("/chat").get_data(as_text=True)


def test_admins_get_csrf_checked(admin):
    response = admin.client.post("/api/admin/invites", json={"uses": 1})
    assert response.status_code == 400 and response.get_json()["code"] == "csrf_failed"


def test_users_are_listed_a_page_at_a_time(app, api_for, admin):
    for name in ("alice", "bob", "carol"):
        api_for(name)
    first = admin.get("/api/admin/users?per_page=2").get_json()
    assert first["total"] == 4 and [u["username"] for u in first["users"]] == ["boss", "alice"]
    assert first["users"][0]["is_admin"] is True and first["users"][1]["disabled"] is False
    second = admin.get("/api/admin/users?page=2&per_page=2").get_json()
    assert [u["username"] for u in second["users"]] == ["bob", "carol"]
    for query in ("page=0", "per_page=500", "page=x", "per_page=1.5"):
        response = admin.get(f"/api/admin/users?{query}")
        assert response.status_code == 400, query
        assert set(response.get_json()) == {"error", "code"}
    assert admin.post("/api/admin/users/999/disable").get_json()["code"] == "user_not_found"


def test_invites_through_the_api_are_shown_once(app, api_for, admin):
    created = admin.post("/api/admin/invites", {"uses": 2, "expires": "12h"})
    assert created.status_code == 201
    invite = created.get_json()
    assert invite["link"] == f"http://localhost/login?invite={invite['token']}"
    assert invite["uses_left"] == 2 and invite["state"] == "active"
    listed = admin.get("/api/admin/invites").get_json()["invites"]
    assert len(listed) == 1 and "token" not in listed[0] and "link" not in listed[0]
    assert invite["token"] not in admin.get("/api/admin/invites").get_data(as_text=True)
    revoked = admin.post(f"/api/admin/invites/{invite['id']}/revoke")
    assert revoked.get_json()["state"] == "revoked"
    assert admin.post("/api/admin/invites/99/revoke").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"uses": 0}, {"uses": 1001}, {"uses": "2"}, {"uses": True}, {"expires": "0d"},
     {"expires": "1y"}, {"expires": 400}, {"expires": ["7d"]}],
)  # fmt: skip
def test_bad_invite_requests_change_nothing(admin, body):
    response = admin.post("/api/admin/invites", body)
    assert response.status_code == 400
    assert response.get_json()["code"] in {"invite_uses_invalid", "invite_expiry_invalid"}
    assert admin.get("/api/admin/invites").get_json()["invites"] == []


def test_registration_mode_through_the_api(app, api_for, admin):
    assert admin.get("/api/admin/registration").get_json() == {"mode": "open", "default": "open"}
    for bad in ({"mode": "sometimes"}, {"mode": None}, {}, {"mode": ["open"]}):
        response = put(admin, "/api/admin/registration", bad)
        assert response.status_code == 400
        assert response.get_json()["code"] == "registration_mode_invalid"
    assert admin.get("/api/admin/registration").get_json()["mode"] == "open"
    assert put(admin, "/api/admin/registration", {"mode": "closed"}).get_json()["mode"] == "closed"
    assert register(api_for, "alice").get_json()["code"] == "registration_closed"
    assert put(admin, "/api/admin/registration", {"mode": "invite"}).status_code == 200
    token = admin.post("/api/admin/invites", {}).get_json()["token"]
    assert register(api_for, "alice", token).status_code == 201


# --- pages --------------------------------------------------------------------------------


def test_the_admin_page_and_the_link_to_it(app, admin):
    page = admin.get("/admin")
    assert page.status_code == 200
    assert re.search(
        r'src="/static/js/admin/admin-page\.js\?v=[0-9a-f]{12}"', page.get_data(as_text=True)
    )
    assert 'href="/admin"' in admin.get("/chat").get_data(as_text=True)


def test_the_login_page_carries_the_invite_into_registration(client):
    page = client.get('/login?invite=abc"<x>').get_data(as_text=True)
    assert 'data-invite="abc&#34;&lt;x&gt;"' in page
    assert 'data-invite=""' in client.get("/login").get_data(as_text=True)


def test_admin_errors_and_the_admin_page_speak_chinese(app, api_for, admin):
    zh = {"Accept-Language": "zh-CN"}
    set_mode(app, "invite")
    response = api_for().post(
        "/api/auth/register", {"username": "alice", "password": PASSWORD, "invite": "x" * 32},
        headers=zh,
    )  # fmt: skip
    assert response.get_json() == {
        "error": "此邀请链接无效：可能有误、已过期、已用完或已撤销",
        "code": "invite_invalid",
    }
    page = admin.get("/admin", headers=zh).get_data(as_text=True)
    assert "<title>管理 · Natter</title>" in page and "创建邀请" in page
