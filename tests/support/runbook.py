"""Tabletop as code: read a runbook page, check what it quotes, run its steps.

A runbook under ``docs/runbooks/`` quotes commands in fenced code blocks
(```` ```sh ````). ``Runbook`` parses them; ``check_commands`` fails when a quoted
``gateway ...`` command, sub-command or option no longer exists, and
``check_paths`` when a quoted ``GET /...`` route is not served. ``run`` plays a step:
it refuses a command the page does not quote (same sub-command, options the page
names) and runs it through typer's CliRunner in a thread, as an operator would
type it.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from gateway.cli import app as cli_app

RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
NOT_YET_MERGED = frozenset({"users", "destinations", "report"})
"""Commands CONTRACT.md v1.1 names that other branches build (console accounts,
destination clients, the transparency report): checked as soon as they exist."""
PAGES_NOT_YET_MERGED = ("/console", "/transparency")
_FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
_HTTP = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s`\"')]*)")


@dataclass(frozen=True)
class Quoted:
    """One ``gateway`` command quoted on the page."""

    line: str
    path: tuple[str, ...]
    """The sub-commands, e.g. ``("models", "pause")``."""
    options: frozenset[str]


def _root() -> Any:
    """The CLI as the command tree typer builds (a group of groups and commands)."""
    return typer.main.get_command(cli_app)


def _subcommands(command: Any) -> dict[str, Any] | None:
    """The sub-commands of a group; None for a plain command."""
    found = getattr(command, "commands", None)
    return found if isinstance(found, dict) else None


def _resolve(words: list[str]) -> tuple[Any, tuple[str, ...], list[str]]:
    """The command ``words`` names, its sub-command path, and the words left over.

    A top-level command in ``NOT_YET_MERGED`` that does not exist yet resolves to
    None (its check is skipped until it exists).
    """
    command = _root()
    if words and words[0] in NOT_YET_MERGED and words[0] not in (_subcommands(command) or {}):
        return None, (words[0],), []
    path: list[str] = []
    rest = list(words)
    while (children := _subcommands(command)) is not None and rest and not rest[0].startswith("-"):
        assert rest[0] in children, f"`gateway {' '.join(words)}`: no command '{rest[0]}'"
        command = children[rest[0]]
        path.append(rest.pop(0))
    assert _subcommands(command) is None, f"`gateway {' '.join(words)}` is incomplete"
    return command, tuple(path), rest


def _options(words: list[str]) -> frozenset[str]:
    return frozenset(w.split("=", 1)[0] for w in words if w.startswith("--"))


def _gateway_words(line: str) -> list[str] | None:
    """The words after ``gateway`` in a shell line, skipping ``$``, env and pipes."""
    line = line.strip().removeprefix("$ ")
    if not line or line.startswith("#"):
        return None
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        words.pop(0)
    if not words or words[0] != "gateway":
        return None
    words = words[1:]
    for stop in ("|", ">", ">>", "&&", ";", "<"):
        if stop in words:
            words = words[: words.index(stop)]
    return words


class Runbook:
    def __init__(self, name: str, directory: Path = RUNBOOKS) -> None:
        self.path = directory / name
        self.text = self.path.read_text(encoding="utf-8")
        blocks = _FENCE.findall(self.text)
        self.quoted: list[Quoted] = []
        for block in blocks:
            for line in block.splitlines():
                words = _gateway_words(line)
                if words is None:
                    continue
                _command, path, rest = _resolve(words)
                self.quoted.append(Quoted(line.strip(), path, _options(rest)))
        self.http = sorted(set(_HTTP.findall(self.text)))
        assert self.quoted or self.http, f"{name} quotes no command"

    def check_commands(self) -> None:
        """Every quoted command and option exists in today's CLI."""
        for quoted in self.quoted:
            command, _path, _rest = _resolve(_gateway_words(quoted.line) or [])
            if command is None:  # not yet merged (NOT_YET_MERGED)
                continue
            known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            unknown = sorted(quoted.options - known)
            assert not unknown, f"`{quoted.line}`: no option {', '.join(unknown)}"

    def check_paths(self, app: FastAPI) -> None:
        """Every quoted route is served, as the app's OpenAPI document lists them
        (console and report pages once those are merged)."""
        served = [
            (method.upper(), path)
            for path, operations in app.openapi()["paths"].items()
            for method in operations
        ]
        for method, quoted in self.http:
            pending = next((p for p in PAGES_NOT_YET_MERGED if quoted.startswith(p)), None)
            if pending and not any(path.startswith(pending) for _m, path in served):
                continue
            bare = quoted.split("?", 1)[0].rstrip(".,:;")
            assert any(_served(m, p, method, bare) for m, p in served), (
                f"{self.path.name}: {method} {quoted} is not served"
            )

    async def run(
        self, command: str, env: dict[str, str], stdin: str | None = None, exit_code: int = 0
    ) -> Result:
        """Run one step the page quotes; assert it exits ``exit_code``; return its result."""
        words = _gateway_words(command)
        assert words is not None, command
        _cmd, path, rest = _resolve(words)
        used = _options(rest)
        assert any(q.path == path and used <= q.options for q in self.quoted), (
            f"{self.path.name} does not quote `gateway {' '.join(path)}` with {sorted(used)}"
        )
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, words, env=env, input=stdin)
        assert result.exit_code == exit_code, (
            f"`{command}` exited {result.exit_code}: {result.output}"
        )
        return result

    def says(self, *phrases: str) -> None:
        """The page says each phrase (case-insensitive): what to look at, whom to tell."""
        lowered = " ".join(self.text.lower().split())
        for phrase in phrases:
            assert phrase.lower() in lowered, f"{self.path.name} does not say '{phrase}'"


def _served(method: str, path: str, quoted_method: str, quoted: str) -> bool:
    if method != quoted_method:
        return False
    pattern = re.sub(r"\{[^}]+\}", "[^/]+", path)
    return re.fullmatch(pattern, re.sub(r"\{[^}]+\}", "x", quoted)) is not None


def cli_env(database_url: str) -> dict[str, str]:
    """The environment an operator's shell has: the gateway's database."""
    return {"GATEWAY_DATABASE_URL": database_url}
