"""The crisis destination's config: escalation needs a secret; client_id names the service."""

from __future__ import annotations

from typing import Any

import pytest
from crisis_rig import SECRET

from gateway.config import ConfigError, parse_config

STEPS = [{"name": "on-call clinician", "webhook": "https://oncall.example.org/hook"}]


def _config(crisis: dict[str, Any]) -> dict[str, Any]:
    return {
        "destinations": [{"name": "crisis-line", "type": "crisis", **crisis}],
        "routing": [{"name": "all", "send_to": ["crisis-line"]}],
    }


def test_escalation_contacts_without_a_secret_are_refused() -> None:
    with pytest.raises(ConfigError, match="'escalation' webhooks need a 'secret'"):
        parse_config(_config({"escalation": STEPS}))


def test_a_desk_without_url_may_escalate_with_a_secret_and_name_its_client() -> None:
    config = parse_config(
        _config({"secret": SECRET, "escalation": STEPS, "client_id": "crisis-line-client"})
    )
    [crisis] = config.crisis_destinations
    assert (crisis.url, crisis.client_id) == (None, "crisis-line-client")
