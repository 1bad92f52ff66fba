import pytest

from app import create_app
from app.config import Settings, SettingsError


def test_register_logs_in(api_for):
    api = api_for()
    response = api.register("alice")
    assert response.status_code == 201
    assert response.get_json()["username"] == "alice"
    assert api.get("/api/me").get_json()["username"] == "alice"


def test_login_logout_round_trip(api_for):
    api_for("alice")
    api = api_for()
    assert api.get("/api/me").status_code == 401
    assert api.login("alice", "wrong password!").status_code == 401
    response = api.login("alice")
    assert response.status_code == 200
    assert api.get("/api/me").get_json()["username"] == "alice"
    assert api.post("/api/auth/logout").status_code == 200
    assert api.get("/api/me").status_code == 401


def test_password_is_stored_as_argon2(app, api_for):
    api_for("alice")
    from app.services.accounts.accounts import find_by_username

    with app.app_context():
        assert find_by_username("alice").password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"username": "ab", "password": "long enough"}, "username"),
        ({"username": "bad name!", "password": "long enough"}, "username"),
        ({"username": "carol", "password": "short"}, "password"),
        ({"username": 5, "password": "long enough"}, "username"),
        ({}, "username"),
    ],
)
def test_register_validation(api_for, body, fragment):
    response = api_for().post("/api/auth/register", body)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_duplicate_username_is_refused(api_for):
    api_for("alice")
    response = api_for().register("alice")
    assert response.status_code == 409
    assert "taken" in response.get_json()["error"]


def test_state_changing_request_without_csrf_is_refused(client):
    response = client.post(
        "/api/auth/register", json={"username": "mallory", "password": "long enough"}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_json()["error"]


def test_non_json_body_is_415(api_for):
    api = api_for()
    response = api.post("/api/auth/login", data="username=a", content_type="text/plain")
    assert response.status_code == 415
    assert "error" in response.get_json()


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.is_json and "error" in response.get_json()


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production"}, instance_path=tmp_path)


def test_development_starts_without_secret_key(tmp_path):
    settings = Settings.from_env({"APP_ENV": "development"}, instance_path=tmp_path)
    assert create_app(settings).config["SECRET_KEY"]


def test_cookies_are_secure_behind_the_proxy(tmp_path):
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, behind_proxy=True))
    from app.extensions import db

    with app.app_context():
        db.create_all()
    client = app.test_client()
    token = client.get(
        "/api/auth/csrf", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"}
    ).get_json()["csrf_token"]
    response = client.post(
        "/api/auth/register",
        json={"username": "alice", "password": "long enough"},
        headers={
            "X-CSRFToken": token,
            "X-Forwarded-Proto": "https",
            "Referer": "https://localhost/login",
        },
        base_url="https://localhost",
    )
    assert response.status_code == 201, response.get_json()
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_settings_are_read_from_the_environment_with_their_types(tmp_path):
    settings = Settings.from_env(
        {
            "APP_ENV": "development",
            "MAX_CONTENT_LENGTH": "1000",
            "BEHIND_PROXY": "1",
            "TRANSCODE_WAIT_SECONDS": "0.5",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        },
        instance_path=tmp_path,
    )
    assert settings.max_content_length == 1000
    assert settings.behind_proxy is True
    assert settings.transcode_wait_seconds == 0.5
    assert settings.redis_url == "redis://127.0.0.1:1/0"
    assert settings.database_url == f"sqlite:///{tmp_path / 'natter.sqlite3'}"


def test_a_malformed_number_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="MAX_CONTENT_LENGTH"):
        Settings.from_env({"APP_ENV": "development", "MAX_CONTENT_LENGTH": "lots"}, tmp_path)


@pytest.mark.parametrize("seconds", ["0", "601"])
def test_a_recording_limit_beyond_what_ffmpeg_keeps_is_refused(tmp_path, seconds):
    with pytest.raises(SettingsError, match="VOICE_MAX_SECONDS"):
        Settings.from_env({"APP_ENV": "development", "VOICE_MAX_SECONDS": seconds}, tmp_path)
