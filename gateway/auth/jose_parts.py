"""Reading a compact JWS before trusting it (RFC 7515 §7.1), and picking its key.

The unverified header and claims are only used to decide *which* key and which
checks apply; nothing is believed until the signature has been verified with a key
chosen by ``kid`` and a ``kty`` (and curve) that fits ``alg`` (RFC 7517 §4, SMART
client-confidential-asymmetric.md §"Signature Verification").
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from joserfc.jwk import ECKey, Key, KeySet

_KEY_SHAPE_FOR_ALG: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
}
ASYMMETRIC_ALGORITHMS = frozenset(_KEY_SHAPE_FOR_ALG)


class MalformedJws(Exception):
    """Not a compact JWS with JSON object header and payload."""


class KeySelectionError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64url_json(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise MalformedJws("segment is not base64url JSON") from error
    if not isinstance(value, dict):
        raise MalformedJws("segment is not a JSON object")
    return value


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, signature NOT checked."""
    segments = token.split(".")
    if len(segments) != 3 or not all(segments[:2]):
        raise MalformedJws("not a compact JWS")
    return _b64url_json(segments[0]), _b64url_json(segments[1])


def _fits(key: Key, alg: str) -> bool:
    shape = _KEY_SHAPE_FOR_ALG.get(alg)
    if shape is None:
        return False
    kty, curve = shape
    curve_fits = curve is None or (isinstance(key, ECKey) and key.curve_name == curve)
    return (
        key.key_type == kty
        and curve_fits
        and key.get("use") in (None, "sig")
        and key.get("alg") in (None, alg)
    )


def select_key(keys: KeySet, *, kid: str | None, alg: str) -> Key:
    """Exactly one key whose ``kid`` matches (when given) and whose type fits ``alg``."""
    candidates = [key for key in keys if kid is None or key.kid == kid]
    if not candidates:
        raise KeySelectionError("kid_unknown")
    fitting = [key for key in candidates if _fits(key, alg)]
    if not fitting:
        raise KeySelectionError("kty_mismatch")
    if len(fitting) > 1:
        raise KeySelectionError("kid_ambiguous")
    return fitting[0]
