"""``gateway clients add`` refuses what must not be registered, and says why in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import new_key
from typer.testing import CliRunner

from gateway.cli import app

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db"}


def _jwks(tmp_path: Path, *, private: bool = False, name: str = "jwks.json") -> Path:
    key = new_key("app-1")
    path = tmp_path / name
    path.write_text(json.dumps({"keys": [key.as_dict(private=private)]}))
    return path


def _add(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["clients", "add", *args], env=env)
    return result.exit_code, result.output


def test_a_public_jwks_with_served_scopes_is_registered_and_listed(
    tmp_path: Path, env: dict[str, str]
) -> None:
    code, _ = _add(
        env, "--client-id", "clinic", "--jwks-file", str(_jwks(tmp_path)),
        "--scopes", "system/Task.rs system/ServiceRequest.c system/*.rs",
        "--webhook-url", "https://clinic.example/hooks", "--webhook-secret", SECRET,
    )
    assert code == 0
    listed = CliRunner().invoke(app, ["clients", "list"], env=env).output
    assert "clinic" in listed and "https://clinic.example/hooks" in listed


def test_private_key_material_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    code, output = _add(
        env, "--client-id", "leaky", "--jwks-file", str(_jwks(tmp_path, private=True)),
        "--scopes", "system/Task.rs",
    )
    assert code != 0 and "private key material" in output and "d" in output
    symmetric = tmp_path / "oct.json"
    symmetric.write_text(json.dumps({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}))
    code, output = _add(env, "--client-id", "oct", "--jwks-file", str(symmetric),
                        "--scopes", "system/Task.rs")
    assert code != 0 and "private key material" in output
    assert "oct" not in CliRunner().invoke(app, ["clients", "list"], env=env).output


@pytest.mark.parametrize(
    "scope", ["system/Foo.zz", "system/Task.zz", "system/Medication.r", "Task.read", "system/Task"]
)
def test_a_scope_outside_the_grammar_or_the_served_types_is_refused(
    tmp_path: Path, env: dict[str, str], scope: str
) -> None:
    code, output = _add(env, "--client-id", "c", "--jwks-file", str(_jwks(tmp_path)),
                        "--scopes", f"system/Task.rs {scope}")
    assert code != 0 and scope in output
    assert "Traceback" not in output


def test_an_existing_id_is_replaced_only_with_replace(tmp_path: Path, env: dict[str, str]) -> None:
    first = ["--client-id", "twice", "--jwks-file", str(_jwks(tmp_path)), "--scopes"]
    assert _add(env, *first, "system/Task.rs")[0] == 0
    code, output = _add(env, *first, "system/Task.rs system/ServiceRequest.c")
    assert code != 0 and "--replace" in output
    listed = CliRunner().invoke(app, ["clients", "list"], env=env).output
    assert "system/ServiceRequest.c" not in listed
    assert _add(env, *first, "system/ServiceRequest.c", "--replace")[0] == 0
    assert "system/ServiceRequest.c" in CliRunner().invoke(app, ["clients", "list"], env=env).output


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://app.example/hooks", "whsec_changeme"),
        ("https://app.example/hooks", "changeme"),
        ("https://app.example/hooks", "whsec_c2hvcnQ="),
        ("ftp://app.example/hooks", SECRET),
    ],
)
def test_a_placeholder_or_short_webhook_secret_or_bad_url_is_refused(
    tmp_path: Path, env: dict[str, str], url: str, secret: str
) -> None:
    code, output = _add(env, "--client-id", "hooked", "--jwks-file", str(_jwks(tmp_path)),
                        "--scopes", "system/Task.rs", "--webhook-url", url,
                        "--webhook-secret", secret)
    assert code != 0 and "cannot register hooked" in output
    assert len(output.strip().splitlines()) == 1
