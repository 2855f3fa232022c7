"""A CDS Client (an EHR) that signs its CDS Hooks calls the way the spec says, or wrongly.

CDS Hooks 2.0 "Trusting CDS Clients": ``Authorization: Bearer <JWT>`` with header
``alg``/``kid``/``typ`` (optionally ``jku``) and claims ``iss``, ``aud`` (the endpoint
URL), ``exp``, ``iat``, ``jti``. Keyword arguments bend one rule at a time.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

SERVICE_PATH = "/cds-services/mental-health-referrals"


def es384_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": kid, "alg": "ES384", "use": "sig"})


def rs384_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS384", "use": "sig"})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@dataclass
class CdsClient:
    iss: str
    key: ECKey | RSAKey
    alg: str

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def claims(
        self,
        aud: str | list[str],
        *,
        lifetime: int = 120,
        now: datetime | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.iss,
            "aud": aud,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        aud: str | list[str],
        *,
        header: dict[str, Any] | None = None,
        lifetime: int = 120,
        now: datetime | None = None,
        **claims: Any,
    ) -> str:
        head: dict[str, Any] = {"alg": self.alg, "kid": self.key.kid, "typ": "JWT"}
        head.update(header or {})
        head = {k: v for k, v in head.items() if v is not None}
        body = self.claims(aud, lifetime=lifetime, now=now, **claims)
        return jwt.encode(head, body, self.key, algorithms=[self.alg])

    def unsigned_token(self, aud: str) -> str:
        """``alg: none``: no signature at all."""
        head = {"alg": "none", "kid": self.key.kid, "typ": "JWT"}
        return f"{_b64(head)}.{_b64(self.claims(aud))}."

    def hmac_token(self, aud: str, secret: bytes = b"a-shared-secret-of-enough-length!!") -> str:
        """``alg: HS256`` with a shared secret, which the spec forbids."""
        key = OctKey.import_key(secret)
        head = {"alg": "HS256", "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(head, self.claims(aud), key, algorithms=["HS256"])


def patient_view(
    patient: dict[str, Any] | bool | None = True,
    *,
    patient_id: str = "ehr-patient-1",
    identifiers: list[dict[str, str]] | None = None,
    fhir_server: str | None = None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """A ``patient-view`` request body; ``patient=False`` leaves the prefetch key out."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": patient_id},
    }
    if patient is True:
        patient = {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": identifiers or [],
        }
    if patient is not False:
        body["prefetch"] = {"patient": patient}
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if access_token is not None:
        body["fhirAuthorization"] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Patient.read",
            "subject": "referral-gateway",
        }
    return body
