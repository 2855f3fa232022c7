"""Deterministic resource ids: the same referral always yields the same uuids."""

from __future__ import annotations

import uuid

# Fixed namespace for this gateway's name-based (version 5) uuids; never change it.
RESOURCE_NAMESPACE = uuid.UUID("6f0d8a52-3c4e-5b7a-9f21-4d6c8e0b1a37")


def resource_uuid(referral_id: str, role: str) -> str:
    """The uuid of the resource playing ``role`` (e.g. ``"patient"``) in one referral."""
    return str(uuid.uuid5(RESOURCE_NAMESPACE, f"{referral_id}/{role}"))
