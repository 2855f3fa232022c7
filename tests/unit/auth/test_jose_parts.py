"""Reading an unverified compact JWS and choosing exactly one key for it."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import KeySet
from smart_auth_support import b64url, ec_key, public_jwks, rsa_key

from gateway.auth.jose_parts import KeySelectionError, MalformedJws, select_key, unverified_parts


@pytest.mark.parametrize(
    "token",
    [
        "e30.e30",
        "e30.e30.x.y",
        ".e30.",
        f"{b64url(b'[1]')}.{b64url(b'{}')}.",
        f"{b64url(b'{')}.e30.x",
    ],
)
def test_not_a_compact_jws_with_json_objects_is_malformed(token: str) -> None:
    with pytest.raises(MalformedJws):
        unverified_parts(token)


def test_header_and_claims_are_read() -> None:
    header_segment = b64url(b'{"alg":"ES384"}')
    header, claims = unverified_parts(f"{header_segment}.{b64url(b'{}')}.sig")
    assert (header, claims) == ({"alg": "ES384"}, {})


def keys(*entries: dict[str, Any]) -> KeySet:
    return KeySet.import_key_set({"keys": list(entries)})


def reason(key_set: KeySet, kid: str | None, alg: str) -> str:
    with pytest.raises(KeySelectionError) as caught:
        select_key(key_set, kid=kid, alg=alg)
    return caught.value.reason


EC = public_jwks(ec_key("k"))["keys"][0]
RSA = public_jwks(rsa_key("k"))["keys"][0]


def test_one_fitting_key_among_same_kid_is_chosen() -> None:
    assert select_key(keys(EC, RSA), kid="k", alg="RS384").key_type == "RSA"


def test_without_kid_a_single_fitting_key_is_chosen() -> None:
    assert select_key(keys(EC), kid=None, alg="ES384").kid == "k"


def test_key_for_encryption_does_not_fit() -> None:
    assert reason(keys({**EC, "use": "enc"}), "k", "ES384") == "kty_mismatch"


def test_key_declared_for_another_alg_does_not_fit() -> None:
    assert reason(keys({**RSA, "alg": "RS256"}), "k", "RS384") == "kty_mismatch"


def test_symmetric_alg_fits_no_key() -> None:
    assert reason(keys(EC, RSA), "k", "HS256") == "kty_mismatch"


def test_rsa_key_does_not_fit_es384() -> None:
    assert reason(keys(RSA), "k", "ES384") == "kty_mismatch"
