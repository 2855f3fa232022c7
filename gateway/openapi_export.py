"""Print the OpenAPI document of the app (``make openapi`` writes openapi/openapi.json).

A test compares the committed file with what the app serves, so the document a
client reads never drifts from the code.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from gateway.app import create_app
from gateway.bootstrap import DEFAULT_CONFIG, build_gateway
from gateway.config import load_config
from gateway.settings import Settings


def openapi_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "key.pem"
        key.write_bytes(ECKey.generate_key("P-384").as_pem(private=True))
        settings = Settings(
            env="test",
            database_url=f"sqlite+aiosqlite:///{tmp}/openapi.db",
            signing_key_file=key,
            run_worker=False,
        )
        gateway = build_gateway(settings, load_config(DEFAULT_CONFIG))
        document: dict[str, Any] = create_app(gateway).openapi()
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(openapi_document()))
