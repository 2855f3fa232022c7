"""A live gateway (``gateway serve``) with console accounts made by ``gateway users add``."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
from harness import base_config
from live_gateway import (
    GATEWAY,
    ROOT,
    GatewayFiles,
    LiveGateway,
    serving_gateway,
    write_gateway_files,
)

PASSWORD = "correct horse battery staple"
SHOTS = ROOT / "docs" / "console"


def console_config(keys: dict[str, Any], **console: Any) -> dict[str, Any]:
    config = base_config(keys)
    config["destinations"].append({"name": "clinic-b", "type": "inbox"})
    config["routing"].insert(
        0, {"name": "to-b", "when": {"pathway": ["self-care"]}, "send_to": ["clinic-b"]}
    )
    config["console"] = {"poll_seconds": 1, **console}
    return config


def add_user(files: GatewayFiles, username: str, role: str, *destinations: str) -> str | None:
    """``gateway users add`` as an operator would run it; the TOTP secret when one is set."""
    args = [str(GATEWAY), "users", "add", username, "--role", role, "--password-stdin"]
    for name in destinations:
        args += ["--destination", name]
    done = subprocess.run(args, cwd=ROOT, env=files.env(), input=PASSWORD + "\n",
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"secret=([A-Z2-7]+)", done.stdout)
    return found.group(1) if found else None


@dataclass
class Console:
    gateway: LiveGateway
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.gateway.url

    def code(self, username: str) -> str:
        return pyotp.TOTP(self.secrets[username]).now()


USERS = (
    ("olive", "operator"), ("cara", "crisis-responder", "crisis-desk"),
    ("rita", "recipient", "inbox"), ("bea", "recipient", "clinic-b"),
    ("pia", "privacy-officer"),
)


def start_console(directory: Path, users: tuple[tuple[str, ...], ...] = USERS,
           **console: Any) -> Iterator[Console]:
    files = write_gateway_files(
        directory, lambda keys: console_config(keys, **console),
        f"sqlite+aiosqlite:///{directory}/gateway.db",
    )
    secrets = {}
    for username, role, *destinations in users:
        secret = add_user(files, username, role, *destinations)
        if secret:
            secrets[username] = secret
    with serving_gateway(files) as gateway:
        yield Console(gateway, secrets)
