"""The README's five-minute tour: `gateway serve` with examples/gateway.yaml, then
`gateway demo`, which gets a SMART token with the demo key and submits every example."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness import new_key
from live_gateway import GATEWAY, ROOT, GatewayFiles, serving_gateway


def test_demo_delivers_every_example(tmp_path: Path) -> None:
    signing_key = tmp_path / "signing-key.pem"
    signing_key.write_bytes(new_key("gateway-1").as_pem(private=True))
    files = GatewayFiles(
        directory=tmp_path,
        config_file=ROOT / "examples" / "gateway.yaml",
        signing_key_file=signing_key,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/tour.db",
        keys={},
    )
    with serving_gateway(files) as gateway:
        demo = subprocess.run(
            [str(GATEWAY), "demo", "--url", gateway.url], cwd=ROOT,
            capture_output=True, text=True, timeout=60,
        )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    examples = sorted(p.name for p in (ROOT / "examples" / "triage").glob("*.json"))
    outcome_lines = [line for line in demo.stdout.splitlines() if "): " in line]
    assert len(outcome_lines) == len(examples)
    assert all("delivered:" in line and "dead" not in line for line in outcome_lines), demo.stdout
    assert "crisis-desk=delivered" in demo.stdout
