"""The configuration reference is written from the code (`make docs`): the committed pages
are what ansible/reference.py writes now, and it names what is stale or unexplained."""

import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("reference", ROOT / "ansible" / "reference.py")
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)


def copy_of(tmp_path: Path, role: str) -> Path:
    """A repository of app/config.py, its settings page and one role (README included)."""
    for part in ("app/config.py", "docs/operators/settings.md", f"roles/{role}"):
        target = tmp_path / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, target)
        else:
            shutil.copy(ROOT / part, target)
    return tmp_path


def test_the_committed_pages_are_up_to_date(capsys):
    assert reference.main(["--check"]) == 0, capsys.readouterr().err


def test_every_setting_and_role_variable_is_in_the_reference():
    page = (ROOT / reference.SETTINGS_PAGE).read_text()
    settings = reference.app_settings(ROOT / reference.CONFIG)
    assert len(settings) > 40
    assert all(f"| `{setting.name}` |" in page for setting in settings)
    assert "| `TRUSTED_PROXIES` |" in page
    for role in reference.roles(ROOT):
        readme = (role / "README.md").read_text()
        for variable in reference.role_variables(role / "defaults" / "main.yml"):
            assert f"```yaml\n{variable.written}\n```" in readme, variable.name


def test_a_secret_setting_shows_no_default():
    settings = {setting.name: setting for setting in reference.app_settings(ROOT / "app/config.py")}
    assert {name for name, setting in settings.items() if setting.secret} == {
        "SECRET_KEY",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
    }
    assert reference.shown_default(settings["SECRET_KEY"]) == "none (a secret)"
    assert reference.shown_default(settings["MAX_CONTENT_LENGTH"]) == "`26214400` (`25 * MIB`)"


def test_a_variable_without_a_comment_is_named(tmp_path, capsys):
    root = copy_of(tmp_path, "redis")
    defaults = root / "roles/redis/defaults/main.yml"
    text = defaults.read_text()
    comment = (
        "# Memory ceiling; rate-limit counters and transcode jobs need only a few megabytes.\n"
    )
    assert comment in text
    defaults.write_text(text.replace(comment, ""))

    assert reference.problems(root) == [
        "roles/redis/defaults/main.yml: variable redis_maxmemory has no comment above it"
    ]
    assert reference.main(["--check"], root=root) == 2
    assert "redis_maxmemory has no comment" in capsys.readouterr().err


def test_a_setting_without_a_comment_is_named(tmp_path):
    root = copy_of(tmp_path, "ffmpeg")
    config = root / "app/config.py"
    text = config.read_text()
    line = "    # After a Redis failure, how long live events and job dispatch leave Redis alone.\n"
    assert line in text
    config.write_text(text.replace(line, ""))
    assert reference.main(["--check"], root=root) == 2
    assert reference.problems(root) == [
        "app/config.py: setting REDIS_RETRY_SECONDS has no comment above it"
    ]


def test_a_changed_default_makes_its_page_stale(tmp_path, capsys):
    root = copy_of(tmp_path, "ffmpeg")
    assert reference.main(["--check"], root=root) == 0
    defaults = root / "roles/ffmpeg/defaults/main.yml"
    defaults.write_text(defaults.read_text().replace("state: present", "state: latest"))
    config = root / "app/config.py"
    config.write_text(
        config.read_text().replace("session_idle_days: int = 30", "session_idle_days: int = 14")
    )

    assert reference.stale_pages(root) == [
        Path("docs/operators/settings.md"),
        Path("roles/ffmpeg/README.md"),
    ]
    assert reference.main(["--check"], root=root) == 1
    assert "roles/ffmpeg/README.md" in capsys.readouterr().err

    assert reference.main([], root=root) == 0
    assert "ffmpeg_package_state: latest" in (root / "roles/ffmpeg/README.md").read_text()
    assert reference.stale_pages(root) == []


def test_regeneration_keeps_the_hand_written_parts(tmp_path):
    root = copy_of(tmp_path, "ffmpeg")
    readme = root / "roles/ffmpeg/README.md"
    readme.write_text(readme.read_text().replace("# Role `ffmpeg`", "# Role `ffmpeg`\n\nKept."))
    reference.main([], root=root)
    text = readme.read_text()
    assert "\n\nKept.\n" in text
    assert "## Example playbook" in text.split(reference.END)[1]


def test_a_readme_without_the_markers_is_refused(tmp_path, capsys):
    root = copy_of(tmp_path, "ffmpeg")
    (root / "roles/ffmpeg/README.md").write_text("# Role `ffmpeg`\n")
    assert reference.main(["--check"], root=root) == 2
    assert "BEGIN GENERATED VARIABLES" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("comment", "kept"),
    [
        ("# example:\n# x_list: [1]\n", ["x_list: [1]"]),
        ("# x_list:\n#   - 1\n", ["x_list:", "  - 1"]),
    ],
)
def test_an_example_below_a_variable_is_not_the_next_ones_comment(tmp_path, comment, kept):
    defaults = tmp_path / "main.yml"
    defaults.write_text(f"---\n# A list.\nx_list: []\n{comment}# The next one.\nx_next: 1\n")
    first, second = reference.role_variables(defaults)
    assert (first.meaning, first.example) == ("A list.", kept)
    assert (second.name, second.meaning, second.example) == ("x_next", "The next one.", [])
