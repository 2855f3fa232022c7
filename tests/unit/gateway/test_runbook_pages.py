"""Every runbook page is linked from docs/runbooks/README.md, names the test that holds
it (and that test exists and reads the page), and quotes only commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from runbook import RUNBOOKS, Runbook

ROOT = RUNBOOKS.parents[1]
PAGES = sorted(p.name for p in RUNBOOKS.glob("*.md") if p.name != "README.md")


def test_every_page_is_linked_from_the_index() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    assert PAGES and all(f"]({name})" in index for name in PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_each_page_is_held_by_a_test_that_reads_it(name: str) -> None:
    page = Runbook(name)
    held = re.search(r"\*\*Held by:\*\* `([^`]+\.py)`", page.text)
    assert held, f"{name} names no test"
    test = ROOT / held.group(1)
    assert test.is_file(), f"{name}: {held.group(1)} does not exist"
    source = test.read_text()
    assert name in source
    page.check_commands()


@pytest.mark.parametrize(
    ("quoted", "problem"),
    [
        ("gateway keys spin", "no command 'spin'"),
        ("gateway keys rotate --whch ehr-client", "no option --whch"),
        ("gateway models", "incomplete"),
    ],
)
def test_a_page_quoting_what_does_not_exist_fails(
    tmp_path: Path, quoted: str, problem: str
) -> None:
    (tmp_path / "page.md").write_text(f"# x\n\n```sh\n{quoted}\n```\n")
    with pytest.raises(AssertionError, match=problem):
        Runbook("page.md", tmp_path).check_commands()


async def test_a_step_the_page_does_not_quote_is_refused(tmp_path: Path) -> None:
    (tmp_path / "page.md").write_text("# x\n\n```sh\ngateway keys list\n```\n")
    with pytest.raises(AssertionError, match="does not quote"):
        await Runbook("page.md", tmp_path).run("gateway keys rotate", {})
