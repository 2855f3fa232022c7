"""A bad configuration is refused at start, naming the key and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.bootstrap import refuse_unsafe
from gateway.config import ConfigError, load_config, parse_config
from gateway.settings import Settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "gateway.yaml"


def minimal(**changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "destinations": [{"name": "inbox", "type": "inbox"}, {"name": "desk", "type": "crisis"}],
        "routing": [{"name": "fallback", "send_to": ["inbox"]}],
    }
    config.update(changes)
    return config


@pytest.mark.parametrize(
    ("config", "names"),
    [
        (minimal(destinations=[{"name": "inbox", "type": "inbox"}]), "crisis"),
        (minimal(routing=[{"name": "r", "send_to": ["nowhere"]}]), "nowhere"),
        (
            minimal(
                destinations=[
                    {"name": "inbox", "type": "inbox"},
                    {
                        "name": "c",
                        "type": "crisis",
                        "url": "https://c.example",
                        "secret": "whsec_...",
                    },
                ]
            ),
            "secret",
        ),
        (
            minimal(
                destinations=[
                    {"name": "inbox", "type": "carrier-pigeon"},
                    {"name": "desk", "type": "crisis"},
                ]
            ),
            "destinations.0",
        ),
        (minimal(clients=[{"client_id": "a", "scopes": ["system/ServiceRequest.c"]}]), "jwks"),
        (minimal(outbound={"allow_private": ["not-a-cidr"]}), "outbound.allow_private"),
        (minimal(surprise=True), "surprise"),
    ],
)
def test_bad_config_is_refused_naming_the_key(config: dict[str, Any], names: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(config)
    assert names in str(refused.value)


def test_the_example_config_is_valid() -> None:
    config = load_config(EXAMPLES)
    assert config.crisis_destinations


def test_production_refuses_demo_keys() -> None:
    config = load_config(EXAMPLES)
    settings = Settings(env="production", signing_key_file=Path("k.pem"), audit_hash_key="x" * 40)
    with pytest.raises(ConfigError, match="demo"):
        refuse_unsafe(settings, config)


def test_production_refuses_a_missing_signing_key() -> None:
    config = parse_config(minimal())
    with pytest.raises(ConfigError, match="SIGNING_KEY"):
        refuse_unsafe(Settings(env="production", audit_hash_key="x" * 40), config)


def test_serve_exits_non_zero_with_the_problem_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(minimal(routing=[{"name": "r", "send_to": ["ghost"]}])))
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env={"GATEWAY_CONFIG": str(bad), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ghost" in result.stderr


def test_webhook_secret_example_vector_is_accepted() -> None:
    parse_config(
        minimal(
            destinations=[
                {"name": "inbox", "type": "inbox"},
                {"name": "c", "type": "crisis", "url": "https://c.example", "secret": SECRET},
            ]
        )
    )
