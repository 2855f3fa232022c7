"""An independent OAuth 2.0 authorization server (the npm package ``oidc-provider``) as
an external issuer (``issuers:``) in integration tests.

Use it from any test under ``tests/integration`` (their conftest.py re-exports the
fixture)::

    async def test_something(oidc_provider: OidcProvider) -> None:
        oidc_provider.issuer_config()      # the gateway's ``issuers:`` entry
        await oidc_provider.token("system/ServiceRequest.c", alg="RS384")

The server is ``tests/integration/oidc/server.mjs`` run by Node on 127.0.0.1 with a
free port: one client, ``triage-app``, authenticating with ``private_key_jwt``
(RFC 7523, an RS384 and an ES384 key generated here) for the client_credentials
grant, and JWT access tokens (RFC 9068) whose ``aud`` is the harness's public URL.
``oidc-provider`` is installed with ``npm ci`` from the committed package-lock into
a cache directory outside the repository (``$XDG_CACHE_HOME/referral-gateway/oidc``,
one folder per lockfile), so only the first run pays for the install.

Without Node the fixture skips, loudly; when npm cannot install the package, it fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import PUBLIC_URL
from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, RSAKey
from sekmet import free_port, stop_process

SERVER_SOURCES = Path(__file__).resolve().parents[1] / "integration" / "oidc"
PACKAGE_FILES = ("package.json", "package-lock.json")
INSTALL_TIMEOUT = 300.0
START_TIMEOUT = 20.0
CLIENT_ID = "triage-app"
CLIENT_SCOPES = ("system/ServiceRequest.c", "system/ServiceRequest.r")
"""What the provider lets ``triage-app`` have, and what it knows for the gateway."""
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NODE_MISSING = (
    "NODE.JS IS NOT INSTALLED: the external-issuer integration test against a real "
    "OAuth server (npm package oidc-provider) did NOT run. Install Node.js >= 20.19 "
    "and npm to run it."
)


@dataclass
class OidcProvider:
    """A running oidc-provider with one private_key_jwt client."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    client_id: str
    client_keys: dict[str, RSAKey | ECKey]
    """The client's private keys by the algorithm they sign: ``RS384``, ``ES384``."""
    process: subprocess.Popen[bytes]
    log_file: Path

    def issuer_config(self, audience: str = PUBLIC_URL) -> dict[str, str]:
        """The gateway's ``issuers:`` entry for this server."""
        return {"issuer": self.issuer, "jwks_uri": self.jwks_uri, "audience": audience}

    def client_assertion(self, alg: str = "ES384") -> str:
        """An RFC 7523 §3 assertion for the token endpoint, signed with the ``alg`` key."""
        key = self.client_keys[alg]
        now = int(time.time())
        claims = {
            "iss": self.client_id, "sub": self.client_id, "aud": self.token_endpoint,
            "iat": now, "exp": now + 240, "jti": uuid.uuid4().hex,
        }
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=[alg])

    async def token(self, scope: str, *, alg: str = "ES384") -> str:
        """An access token the client_credentials way (RFC 6749 §4.4, RFC 7523 §2.2)."""
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                self.token_endpoint,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": JWT_BEARER,
                    "client_assertion": self.client_assertion(alg),
                    "scope": scope,
                },
            )
        assert response.status_code == 200, f"{response.status_code} {response.text}"
        body = response.json()
        assert body["token_type"].lower() == "bearer", body
        return str(body["access_token"])


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "referral-gateway" / "oidc"


def installed_server(root: Path | None = None) -> Path:
    """A folder with ``server.mjs`` next to ``node_modules/oidc-provider``.

    ``npm ci`` runs once per lockfile (the folder is named after its hash) into a
    staging folder that is renamed into place, so an interrupted install is never reused.
    """
    root = root or cache_root()
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update((SERVER_SOURCES / name).read_bytes())
    target = root / digest.hexdigest()[:16]
    if not (target / "node_modules" / "oidc-provider" / "package.json").is_file():
        _npm_ci_into(target)
    script = target / "server.mjs"
    source = (SERVER_SOURCES / "server.mjs").read_bytes()
    if not script.is_file() or script.read_bytes() != source:
        staged = target / f"server.{uuid.uuid4().hex}.tmp"
        staged.write_bytes(source)
        staged.replace(script)
    return target


def _npm_ci_into(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed (Node.js is): cannot install oidc-provider")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=target.parent))
    for name in PACKAGE_FILES:
        shutil.copyfile(SERVER_SOURCES / name, staging / name)
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=staging, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.fail(f"npm ci of oidc-provider took longer than {INSTALL_TIMEOUT:.0f} s")
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        output = f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        pytest.fail(f"npm ci of oidc-provider failed (exit {result.returncode}):\n{output}")
    try:
        staging.rename(target)
    except OSError:  # a concurrent run installed the same lockfile first
        shutil.rmtree(staging, ignore_errors=True)


def new_client_keys() -> dict[str, RSAKey | ECKey]:
    def params(alg: str) -> KeyParameters:
        return {"kid": f"{CLIENT_ID}-{alg.lower()}", "alg": alg, "use": "sig"}

    return {
        "RS384": RSAKey.generate_key(2048, parameters=params("RS384")),
        "ES384": ECKey.generate_key("P-384", parameters=params("ES384")),
    }


@contextlib.contextmanager
def start_oidc_provider(directory: Path, *, audience: str = PUBLIC_URL) -> Iterator[OidcProvider]:
    """Run oidc-provider until the block ends; skips when Node is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(NODE_MISSING)
    server = installed_server()
    keys = new_client_keys()
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    settings_file = directory / "settings.json"
    settings_file.write_text(json.dumps(_settings(port, audience, keys)))
    log_file = directory / "oidc-provider.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [node, str(server / "server.mjs"), str(settings_file)],
            cwd=directory, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        issuer = _wait_until_ready(process, log_file)
        metadata = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
        assert metadata["issuer"] == issuer, metadata
        yield OidcProvider(
            issuer=issuer,
            token_endpoint=metadata["token_endpoint"],
            jwks_uri=metadata["jwks_uri"],
            client_id=CLIENT_ID,
            client_keys=keys,
            process=process,
            log_file=log_file,
        )
    finally:
        stop_process(process)


def _settings(port: int, audience: str, keys: dict[str, RSAKey | ECKey]) -> dict[str, Any]:
    return {
        "port": port,
        "audience": audience,
        "scopes": list(CLIENT_SCOPES),
        "client": {
            "client_id": CLIENT_ID,
            "jwks": {"keys": [key.as_dict(private=False) for key in keys.values()]},
            "scope": " ".join(CLIENT_SCOPES),
        },
    }


def _wait_until_ready(process: subprocess.Popen[bytes], log_file: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        for line in log_file.read_text(errors="replace").splitlines():
            if line.startswith('{"ready":true'):
                return str(json.loads(line)["issuer"])
        time.sleep(0.05)
    raise RuntimeError(
        f"oidc-provider did not start: {log_file.read_text(errors='replace')[-2000:]}"
    )


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """One oidc-provider for the session, its tokens meant for the harness gateway."""
    with start_oidc_provider(tmp_path_factory.mktemp("oidc-provider")) as provider:
        yield provider
