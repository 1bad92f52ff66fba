"""The OpenAPI document matches the routes, and fuzzing it finds no server error."""

import re
import subprocess
import sys
from pathlib import Path

import requests
import yaml
from openapi_spec_validator import validate

from tests.app.test_live_and_limits import HttpUser
from tests.conftest import ROOT, app_environment

SPEC_PATH = Path(__file__).resolve().parents[2] / "app" / "openapi.yaml"


def documented_operations() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
    }


def test_document_is_valid_openapi():
    validate(yaml.safe_load(SPEC_PATH.read_text()))


def test_every_api_route_is_documented_and_vice_versa(app):
    routed = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routed == documented_operations()


def test_fuzzing_the_api_finds_no_server_error(gunicorn_factory, tmp_path):
    base = gunicorn_factory(
        {"RATELIMIT_REGISTER": "1000 per minute", "RATELIMIT_LOGIN": "1000 per minute"}
    )
    user = HttpUser(base, "fuzzer")
    HttpUser(base, "friend")
    # The fuzzer is an admin, so /api/admin/ is fuzzed too (for others it is a 404).
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "users", "create", "fuzzer", "--admin",
         "--if-missing"],
        cwd=ROOT, env=app_environment(tmp_path), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    cookie = "; ".join(f"{c.name}={c.value}" for c in user.http.cookies)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(SPEC_PATH),
            "--url",
            base,
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--generation-deterministic",
            "--request-timeout",
            "10",
            # The event stream never ends by itself, and logout would end the session.
            "--exclude-path",
            "/api/chat/events",
            "--exclude-path",
            "/api/auth/logout",
            "-H",
            f"Cookie: {cookie}",
            "-H",
            f"X-CSRFToken: {user.token}",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert requests.get(f"{base}/healthz", timeout=30).status_code == 200
