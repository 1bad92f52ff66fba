"""make bench writes its latest table into the developers' benchmarks page, between the
page's markers, and leaves everything else on the page as it was."""

import shutil

from tests.benchmarks.__main__ import BEGIN, DOCS_PAGE, END, write_latest


def test_the_committed_page_has_one_pair_of_markers():
    text = DOCS_PAGE.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert text.index(BEGIN) < text.index(END)


def test_a_full_run_replaces_only_what_is_between_the_markers(tmp_path):
    page = tmp_path / "benchmarks.md"
    shutil.copy(DOCS_PAGE, page)
    before, after = DOCS_PAGE.read_text().split(BEGIN)[0], DOCS_PAGE.read_text().split(END)[1]
    report = (
        "Machine: test\n\n| benchmark | project | baseline (same run) | ratio |\n|---|---|---|---|"
    )
    write_latest(page, report)
    write_latest(page, report)  # a second run replaces the first, never appends
    text = page.read_text()
    assert text.startswith(before) and text.endswith(after)
    assert text.count("Machine: test") == 1
    assert text.count(BEGIN) == 1 and text.count(END) == 1
