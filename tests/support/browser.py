"""Debian's Chromium driven by Playwright, and axe-core injected into every page checked.

Playwright cannot download its own browser here: it drives ``/usr/bin/chromium``
(``make test`` installs the ``chromium`` package when it is missing). axe-core is
installed with ``npm ci`` from the committed lockfile into a cache outside the
repository (``$XDG_CACHE_HOME/referral-gateway/axe``), as ``oidc.py`` installs
oidc-provider.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
AXE_SOURCES = Path(__file__).resolve().parents[1] / "e2e" / "console" / "axe"
PACKAGE_FILES = ("package.json", "package-lock.json")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_script() -> str:
    """The text of ``axe.min.js``, installed once per lockfile."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update((AXE_SOURCES / name).read_bytes())
    target = Path(base) / "referral-gateway" / "axe" / digest.hexdigest()[:16]
    script = target / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed: cannot install axe-core for the console checks")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=target.parent))
        for name in PACKAGE_FILES:
            shutil.copyfile(AXE_SOURCES / name, staging / name)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=staging, capture_output=True, text=True, timeout=300, check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            pytest.fail(f"npm ci of axe-core failed: {result.stderr[-2000:]}")
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return script.read_text(encoding="utf-8")


def serious_violations(page: Any, script: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.2 AA violations on ``page`` (injected, not
    loaded from the page: the console's CSP allows no foreign script)."""
    page.evaluate(script)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
