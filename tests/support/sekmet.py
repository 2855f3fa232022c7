"""A real FHIR R4 server (the ``sekmet-fhir`` package) as the EHR in integration tests.

Use it from any test under ``tests/integration`` or ``tests/e2e`` (their conftest.py
re-exports the fixtures)::

    def test_something(ehr: Ehr) -> None:
        ehr.base_url                       # http://127.0.0.1:<port>/fhir
        ehr.search("Task", identifier="https://sys|value")   # -> list of resources
        ehr.read("Patient", "abc")

    async def test_with_auth(smart_ehr: Ehr) -> None:
        smart_ehr.smart                    # SmartRegistration: client_id, kid, key PEM path

``ehr`` and ``smart_ehr`` are session-scoped (one server each per test session: a
few seconds to start). Isolate tests with fresh identifiers, not fresh servers:
``unique_triage`` gives a fixture triage result with a new triage id and patient
identifier. ``ehr_destination(ehr)`` is the gateway's ``destinations[]`` entry for a
server (with SMART auth for ``smart_ehr``); ``routed_to_ehr(...)`` is a harness config
routing the clinical pathway there::

    async with running_gateway(tmp_path, config=routed_to_ehr(ehr_destination(ehr))) as h:
        await h.submit(unique_triage("minimal-patient")); await h.deliver_all()

``start_sekmet`` starts an extra server when a test needs its own (e.g. to stop it).
The module is named after the package it runs; it shadows ``sekmet`` only on the
tests' import path, and the server itself runs in its own process.

The server runs as ``sekmet serve -c settings.yaml`` on 127.0.0.1 with a free port,
a fresh ``data_dir`` and the workflow simulator off, and is stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, RSAKey

SEKMET = Path(sys.executable).with_name("sekmet")
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class SmartRegistration:
    """The gateway's client registration at a SMART-protected EHR."""

    client_id: str
    kid: str
    private_key_file: Path
    scope: str = "system/*.cruds"


@dataclass
class Ehr:
    """A running sekmet server."""

    base_url: str
    """The FHIR base, ``http://127.0.0.1:<port>/fhir``."""
    root_url: str
    process: subprocess.Popen[bytes]
    log_file: Path
    smart: SmartRegistration | None = None
    _token: tuple[str, float] | None = None

    @property
    def port(self) -> int:
        return int(self.root_url.rsplit(":", 1)[1])

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/fhir+json"}
        if self.smart is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        return headers

    def token(self) -> str:
        """An access token for test reads on a SMART-protected server (as the gateway)."""
        assert self.smart is not None
        if self._token is None or time.monotonic() > self._token[1]:
            # the server's tokens live 300 s; take a new one well before that
            self._token = (smart_token(self, self.smart), time.monotonic() + 240)
        return self._token[0]

    def search(self, resource_type: str, **params: str) -> list[dict[str, Any]]:
        """Every match of a search (follows ``next`` links); fails when the server says it
        ignored a parameter, so a test never mistakes "ignored" for "matched"."""
        found: list[dict[str, Any]] = []
        url: str | None = f"{self.base_url}/{resource_type}"
        query: dict[str, str] | None = {**params, "_count": "100"}
        while url:
            response = httpx.get(url, params=query, headers=self._headers(), timeout=10)
            response.raise_for_status()
            bundle = response.json()
            for entry in bundle.get("entry", []):
                resource = entry.get("resource", {})
                if resource.get("resourceType") == "OperationOutcome":
                    raise AssertionError(f"the server did not run the search as asked: {resource}")
                found.append(resource)
            links = bundle.get("link", [])
            url = next((lk["url"] for lk in links if lk["relation"] == "next"), None)
            query = None
        return found

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base_url}/{resource_type}/{resource_id}", headers=self._headers(), timeout=10
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def resolve(self, reference: str) -> dict[str, Any]:
        """Read what a literal reference (``Type/id``) on the server points at."""
        resource_type, resource_id = reference.removeprefix(self.base_url + "/").split("/")[:2]
        return self.read(resource_type, resource_id)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_rsa_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_jwks_of(pem: bytes, kid: str) -> dict[str, Any]:
    key = RSAKey.import_key(pem, parameters={"kid": kid, "alg": "RS384", "use": "sig"})
    return {"keys": [key.as_dict(private=False)]}


def smart_registration(directory: Path, client_id: str = "referral-gateway") -> SmartRegistration:
    """A fresh RS384 key for the gateway, written to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{client_id}.pem"
    path.write_bytes(new_rsa_key_pem())
    return SmartRegistration(client_id=client_id, kid=f"{client_id}-1", private_key_file=path)


@contextlib.contextmanager
def start_sekmet(
    directory: Path,
    *,
    smart: SmartRegistration | None = None,
    registered_jwks: dict[str, Any] | None = None,
    registered_jwks_url: str | None = None,
    port: int | None = None,
) -> Iterator[Ehr]:
    """Run a sekmet server until the block ends.

    With ``smart``, the server requires SMART Backend Services tokens and registers
    ``smart.client_id`` with ``registered_jwks`` (default: the public half of
    ``smart.private_key_file``, i.e. the gateway's key is accepted), or with the
    ``registered_jwks_url`` the server fetches the gateway's keys from.
    """
    port = port or free_port()
    root = f"http://127.0.0.1:{port}"
    directory.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {
        "base_url": f"{root}/fhir",
        "host": "127.0.0.1",
        "port": port,
        "data_dir": str(directory / "data"),
        "own_private_key_path": str(directory / "sekmet-own.pem"),
        "simulator": {"enabled": False},
        "log_inbound": False,
    }
    if smart is not None:
        jwks = registered_jwks or public_jwks_of(smart.private_key_file.read_bytes(), smart.kid)
        keys: dict[str, Any] = (
            {"jwks_url": registered_jwks_url} if registered_jwks_url else {"jwks": jwks}
        )
        settings["server_auth"] = {
            "types": ["smart"],
            "smart_clients": [{"client_id": smart.client_id, **keys, "scopes": "system/*.cruds"}],
            "token_lifetime": 300,
        }
    config = directory / "settings.yaml"
    config.write_text(yaml.safe_dump(settings))
    log_file = directory / "sekmet.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [str(SEKMET), "serve", "-c", str(config)],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ehr = Ehr(
        base_url=f"{root}/fhir", root_url=root, process=process, log_file=log_file, smart=smart
    )
    try:
        _wait_until_up(ehr)
        yield ehr
    finally:
        stop_process(process)


def _wait_until_up(ehr: Ehr) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ehr.process.poll() is not None:
            break
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{ehr.base_url}/metadata", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"sekmet did not answer /fhir/metadata: {ehr.log_file.read_text(errors='replace')[-2000:]}"
    )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process (and its group), SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def smart_token(ehr: Ehr, registration: SmartRegistration) -> str:
    """A token from the EHR's own token endpoint, signed with the gateway's key."""
    from joserfc import jwt

    key = RSAKey.import_key(registration.private_key_file.read_bytes())
    token_url = f"{ehr.root_url}/auth/token"
    now = int(time.time())
    claims = {
        "iss": registration.client_id, "sub": registration.client_id, "aud": token_url,
        "iat": now, "exp": now + 240, "jti": uuid.uuid4().hex,
    }
    assertion = jwt.encode(
        {"alg": "RS384", "kid": registration.kid, "typ": "JWT"}, claims, key, algorithms=["RS384"]
    )
    response = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": registration.scope,
        },
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehr]:
    """One sekmet server for the session, no auth."""
    with start_sekmet(tmp_path_factory.mktemp("sekmet")) as server:
        yield server


@pytest.fixture(scope="session")
def smart_ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehr]:
    """One sekmet server for the session requiring SMART tokens; the gateway's key is
    registered (``smart_ehr.smart``)."""
    directory = tmp_path_factory.mktemp("sekmet-smart")
    with start_sekmet(directory, smart=smart_registration(directory / "keys")) as server:
        yield server


def unique_triage(name: str = "contract-example", **changes: Any) -> dict[str, Any]:
    """A fixture triage result with a fresh ``triage_id`` and patient identifier."""
    from harness import triage

    body = triage(name, **changes)
    tag = uuid.uuid4().hex[:12]
    body["triage_id"] = f"t-{tag}"
    body["patient"]["identifiers"] = [
        {"system": "https://app.example.org/patients", "value": f"p-{tag}"}
    ]
    return body


def ehr_destination(
    ehr: Ehr, name: str = "county-ehr", *, base_url: str | None = None
) -> dict[str, Any]:
    """The gateway's ``destinations[]`` entry for ``ehr`` (SMART auth when it has it)."""
    destination: dict[str, Any] = {
        "name": name,
        "type": "fhir",
        "base_url": base_url or ehr.base_url,
        "allow_private_network": True,
    }
    if ehr.smart is not None:
        destination["auth"] = {
            "type": "smart-backend",
            "client_id": ehr.smart.client_id,
            "private_key_file": str(ehr.smart.private_key_file),
            "kid": ehr.smart.kid,
            "alg": "RS384",
            "scope": ehr.smart.scope,
        }
    return destination


def routed_to_ehr(
    *destinations: dict[str, Any], pathway: str = "clinical"
) -> Callable[[dict[str, ECKey]], dict[str, Any]]:
    """A harness ``config``: the usual clients and destinations plus ``destinations``,
    with the ``pathway`` rule sending to all of them."""
    from harness import base_config

    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        config = base_config(keys)
        config["destinations"] += list(destinations)
        for rule in config["routing"]:
            if rule["name"] == pathway:
                rule["send_to"] = [d["name"] for d in destinations]
        return config

    return build


def identifier_query(identifier: dict[str, str]) -> str:
    return f"{identifier['system']}|{identifier['value']}"
