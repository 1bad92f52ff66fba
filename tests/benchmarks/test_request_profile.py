"""The request profile (issue 17's evidence) measures the requests it names, not error pages."""

from tests.benchmarks import request_profile

NATTER_REQUESTS = ["empty poll", "50-message page", "voice access check"]


def figures(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(label))
    return line.removeprefix(label).split()


def test_each_request_is_split_into_its_parts_beside_the_bare_hello(tmp_path, monkeypatch):
    monkeypatch.setattr(request_profile, "REQUESTS", 20)
    monkeypatch.setattr(request_profile, "ROUNDS", 1)
    text = request_profile.report(request_profile.measure(tmp_path))

    assert text.splitlines()[2].split() == [
        "empty", "poll", "50-message", "page", "voice", "access", "check", "bare", "Flask", "hello",
    ]  # fmt: skip
    wholes = [float(ms) for ms in figures(text, "whole request (plain, no profiler)")]
    assert all(ms > 0 for ms in wholes)
    # Every Natter request loads its user from the server-side session; the bare hello does not.
    assert figures(text, "the user load (one query)")[3] == "–"
    assert all(float(ms) > 0 for ms in figures(text, "the user load (one query)")[:3])
    assert float(figures(text, "serializing messages")[1]) > 0
    for name in [*NATTER_REQUESTS, "bare Flask hello"]:
        assert f"== {name}: the {request_profile.TOP_FUNCTIONS} costliest functions" in text
