"""``cds_clients:`` in the YAML file: the EHRs (CDS Clients) allowed to call the CDS service.

Each is named by the ``iss`` of the JWT it signs and gives its public keys inline
(``jwks``) or at one JWK Set URL (``jku``); a JWT's ``jku`` header is accepted only
when it is exactly that URL (CDS Hooks 2.0, "Trusting CDS Clients").
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator


class CdsClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1)
    jwks: dict[str, Any] | None = None
    jku: str | None = None
    name: str | None = None
    """How the EHR is named in the person's accounting of disclosures (default: ``iss``)."""
    origins: list[str] = Field(default_factory=list)
    """Browser origins that call on this EHR's behalf (CORS), e.g. the CDS Hooks sandbox."""

    @field_validator("jwks", mode="before")
    @classmethod
    def _key_or_set(cls, value: Any) -> Any:
        """A single JWK is taken as a JWK Set of one."""
        if isinstance(value, dict) and "keys" not in value and "kty" in value:
            return {"keys": [value]}
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> CdsClientConfig:
        if (self.jwks is None) == (self.jku is None):
            raise ValueError("give exactly one of 'jwks' or 'jku'")
        if self.jwks is not None:
            keys = self.jwks.get("keys")
            if not isinstance(keys, list):
                raise ValueError("'jwks' must be a JWK Set with a 'keys' list")
            if any(isinstance(k, dict) and ("d" in k or k.get("kty") == "oct") for k in keys):
                raise ValueError("'jwks' must hold public keys only")
        if self.jku is not None and not self.jku.startswith(("https://", "http://")):
            raise ValueError("'jku' must be an http(s) URL")
        for origin in self.origins:
            if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
                raise ValueError(f"origin {origin!r} must be scheme://host[:port], no path")
        return self

    @property
    def label(self) -> str:
        return self.name or self.iss


def unique_issuers(clients: list[CdsClientConfig]) -> list[CdsClientConfig]:
    issuers = [c.iss for c in clients]
    duplicates = sorted({i for i in issuers if issuers.count(i) > 1})
    if duplicates:
        raise ValueError(f"iss values must be unique: {', '.join(duplicates)}")
    return clients


CdsClients = Annotated[list[CdsClientConfig], AfterValidator(unique_issuers)]
