"""/metrics: who may read it, what it counts, and the sums over Gunicorn's processes."""

import re
import subprocess
import sys
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import Settings, SettingsError
from app.extensions import db
from tests.conftest import ROOT, ApiClient, app_environment, make_settings
from tests.voice.test_upload import upload, user


def samples(text: str) -> dict[tuple, float]:
    """{(name, (label, value) pairs sorted): value} of one exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client, remote="127.0.0.1", **headers):
    return client.get("/metrics", environ_base={"REMOTE_ADDR": remote}, headers=headers)


def test_loopback_reads_metrics_in_prometheus_format(client):
    response = scrape(client)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = response.get_data(as_text=True)
    assert value(text, "natter_dependency_up", dependency="database") == 1.0
    # No Redis configured: neither a Redis health line nor a queue depth.
    assert ("natter_dependency_up", (("dependency", "redis"),)) not in samples(text)
    assert "natter_transcode_queue_depth" not in text


@pytest.mark.parametrize(
    ("remote", "headers"),
    [
        ("203.0.113.7", {}),
        ("10.0.0.5", {}),
        ("not-an-address", {}),
    ],
)
def test_everyone_else_gets_404(client, remote, headers):
    response = scrape(client, remote, **headers)
    assert response.status_code == 404
    assert "natter_" not in response.get_data(as_text=True)


def test_configured_monitoring_networks_may_read(tmp_path):
    networks = "203.0.113.0/28, 2001:db8::9"
    app = create_app(make_settings(tmp_path, metrics_allowed_networks=networks))
    client = app.test_client()
    assert scrape(client, "203.0.113.7").status_code == 200
    assert scrape(client, "2001:db8::9").status_code == 200
    assert scrape(client, "203.0.113.99").status_code == 404


def test_behind_nginx_the_real_client_address_decides(tmp_path):
    """Nginx appends the peer's address; a forged X-Forwarded-For in front does not help."""
    app = create_app(make_settings(tmp_path, behind_proxy=True))
    client = app.test_client()
    forged = scrape(client, "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1, 198.51.100.4"})
    assert forged.status_code == 404
    local = scrape(client, "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"})
    assert local.status_code == 200


def test_a_bad_monitoring_network_is_refused_at_start():
    with pytest.raises(SettingsError, match="METRICS_ALLOWED_NETWORKS"):
        Settings.from_env(
            {"APP_ENV": "development", "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8, nonsense"}
        )


def test_a_missing_samples_folder_does_not_stop_a_command(tmp_path):
    """flask db ... with natter.env loaded while the units (and their folder) are down."""
    env = app_environment(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "absent"))
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "absent").exists()


def test_requests_are_counted_by_route_and_status(client):
    before = scrape(client).get_data(as_text=True)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page")
    after = scrape(client).get_data(as_text=True)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("natter_http_requests_total", method="GET", route="/healthz", status="200") == 3
    assert delta("natter_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert delta("natter_http_request_duration_seconds_count", method="GET", route="/healthz") == 3


def test_rate_limit_hits_are_counted(tmp_path):
    app = create_app(make_settings(tmp_path, ratelimit_login="2 per minute"))
    with app.app_context():
        db.create_all()
    api = ApiClient(app.test_client())
    route = "/api/auth/login"
    name = "natter_rate_limit_hits_total"
    before = value(scrape(api.client).get_data(as_text=True), name, route=route)
    statuses = [api.login("nobody", "wrong password").status_code for _ in range(3)]
    assert statuses[-1] == 429
    after = value(scrape(api.client).get_data(as_text=True), name, route=route)
    assert after - before == 1


def voice_app(tmp_path, **overrides):
    """An app on local disk with its tables (the voice suite's fixture runs both backends)."""
    app = create_app(make_settings(tmp_path, **overrides))
    with app.app_context():
        db.create_all()
    return app


def test_uploads_and_transcodes_are_counted(tmp_path, speech_files):
    app = voice_app(tmp_path)
    alice = user(app, "alice")
    user(app, "bob")
    conversation_id = alice.conversation_with("bob")
    before = scrape(alice.client).get_data(as_text=True)
    assert upload(alice, conversation_id, speech_files["webm"]).status_code == 201
    assert upload(alice, conversation_id, speech_files["ogg"]).status_code == 201
    after = scrape(alice.client).get_data(as_text=True)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("natter_voice_uploads_total") == 2
    size = speech_files["webm"].stat().st_size + speech_files["ogg"].stat().st_size
    assert delta("natter_voice_upload_bytes_total") == size
    assert delta("natter_transcode_duration_seconds_count", output="m4a", outcome="ok") == 2
    assert delta("natter_transcode_duration_seconds_sum", output="m4a", outcome="ok") > 0


def test_a_failed_transcode_is_counted_by_output(tmp_path, speech_files):
    app = voice_app(tmp_path, ffmpeg_aac_encoder="no_such_encoder")
    alice = user(app, "alice")
    user(app, "bob")
    conversation_id = alice.conversation_with("bob")
    before = scrape(alice.client).get_data(as_text=True)
    assert upload(alice, conversation_id, speech_files["webm"]).status_code == 201
    after = scrape(alice.client).get_data(as_text=True)
    labels_error = {"output": "m4a", "outcome": "error"}
    labels_mp3 = {"output": "mp3", "outcome": "ok"}
    name = "natter_transcode_duration_seconds_count"
    assert value(after, name, **labels_error) - value(before, name, **labels_error) == 1
    assert value(after, name, **labels_mp3) - value(before, name, **labels_mp3) == 1


@pytest.mark.redis
def test_redis_health_and_queue_depth(tmp_path, redis_server):
    app = create_app(make_settings(tmp_path, redis_url=redis_server))
    text = scrape(app.test_client()).get_data(as_text=True)
    assert value(text, "natter_dependency_up", dependency="redis") == 1.0
    assert value(text, "natter_transcode_queue_depth") == 0.0


# A Gunicorn worker imports the app on its first request; on a busy 2-core machine that
# took 13 s, so requests to the test server get a generous (bounded) timeout.
SLOW_START_SECONDS = 60


def fetch(url: str) -> requests.Response:
    with requests.Session() as fresh:  # a new connection each time: either worker answers
        fresh.trust_env = False
        return fresh.get(url, timeout=SLOW_START_SECONDS)


def wait_for_value(url: str, name: str, wanted: float, timeout: float = 30.0) -> float:
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        seen = value(fetch(url).text, name)
        if seen == wanted:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"{name} stayed {seen}, wanted {wanted}")


def test_gunicorn_workers_are_summed_in_multiprocess_mode(gunicorn_factory, tmp_path):
    """Two Gunicorn workers, one metrics folder: every request counted whichever worker
    served it or the scrape; an open event stream shows while open, and not after."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    base = gunicorn_factory({"PROMETHEUS_MULTIPROC_DIR": str(folder)}, workers=2)
    metrics_url = f"{base}/metrics"
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    before = value(fetch(metrics_url).text, "natter_http_requests_total", **labels)
    for _ in range(20):
        assert fetch(f"{base}/healthz").status_code == 200
    for _ in range(5):  # each scrape may land on either worker; all see the same sum
        after = value(fetch(metrics_url).text, "natter_http_requests_total", **labels)
        assert after - before == 20
    assert any(re.match(r"counter_\d+\.db", path.name) for path in folder.iterdir())

    http = requests.Session()
    http.trust_env = False
    token = http.get(f"{base}/api/auth/csrf", timeout=SLOW_START_SECONDS).json()["csrf_token"]
    registered = http.post(
        f"{base}/api/auth/register",
        json={"username": "streamer", "password": "long password"},
        headers={"X-CSRFToken": token},
        timeout=SLOW_START_SECONDS,
    )
    assert registered.status_code == 201, registered.text
    with http.get(f"{base}/api/chat/events", stream=True, timeout=SLOW_START_SECONDS) as stream:
        assert next(stream.iter_lines()) == b"retry: 3000"
        wait_for_value(metrics_url, "natter_open_event_streams", 1.0)
    # The server learns that the page left when a keep-alive write fails: the first one
    # after the close still goes out (the peer answers with a reset), the second fails;
    # keep-alives are 15 s apart, so this takes up to 30 s.
    wait_for_value(metrics_url, "natter_open_event_streams", 0.0, timeout=50)
    http.close()
