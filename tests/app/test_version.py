"""The version the app reports is the newest release of CHANGELOG.md, wherever it is read."""

import re
import tomllib

from app.version import VERSION
from tests.conftest import ROOT

RELEASE = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - \d{4}-\d{2}-\d{2}$", re.M)


def releases() -> list[tuple[int, ...]]:
    return [
        tuple(map(int, found)) for found in RELEASE.findall((ROOT / "CHANGELOG.md").read_text())
    ]


def test_the_version_is_the_newest_release_in_the_changelog():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    listed = releases()
    assert listed, "CHANGELOG.md has no release heading like '## [0.5.0] - 2026-12-06'"
    assert listed == sorted(listed, reverse=True), "releases are listed newest first"
    assert ".".join(map(str, listed[0])) == VERSION
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{VERSION}]")


def test_the_package_takes_its_version_from_the_app():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "app.version.VERSION"}


def test_healthz_reports_the_version(client):
    assert client.get("/healthz").get_json()["version"] == VERSION


def test_the_version_command_names_natter(app):
    result = app.test_cli_runner().invoke(args=["version"])
    assert result.exit_code == 0
    assert result.output == f"natter {VERSION}\n"
