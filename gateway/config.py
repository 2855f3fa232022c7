"""The YAML configuration file (``GATEWAY_CONFIG``), as typed models.

Top-level keys are those of CONTRACT.md: ``clients``, ``issuers``,
``destinations``, ``outbound``, ``routing``, ``consent``, ``models``, ``drift``
(:mod:`gateway.trust.config`). A bad file is refused at
start by ``load_config`` with a message naming the key and the problem.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.cds.config import CdsClients
from gateway.console.config import ConsoleConfig
from gateway.trust.config import DriftConfig, ModelCards

RISK_LEVELS = ("none", "low", "moderate", "high", "imminent")
PATHWAYS = ("crisis", "clinical", "community", "self-care")
URGENCIES = ("routine", "urgent", "asap", "stat")
ConsentCategory = Literal["ehr", "crisis", "community"]


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_webhook_secret(value: str) -> str:
    """Standard Webhooks secrets are ``whsec_`` + base64 of at least 24 random bytes."""
    if not value.startswith("whsec_"):
        raise ValueError("must start with 'whsec_'")
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except binascii.Error as exc:
        raise ValueError("must be 'whsec_' followed by base64") from exc
    if len(key) < 24:
        raise ValueError("is too short or a placeholder: use at least 24 random bytes")
    return value


class WebhookTarget(_Strict):
    url: str
    secret: str

    _secret = field_validator("secret")(_check_webhook_secret)


class RateLimitConfig(_Strict):
    """``clients[].rate_limit``: sustained submissions per second and the burst above it
    (gateway/api/rate_limit.py)."""

    per_second: float = Field(gt=0)
    burst: int = Field(default=0, ge=0)
    """Tokens a quiet client saves up; 0 means ``ceil(per_second)``."""


class ClientConfig(_Strict):
    client_id: str = Field(min_length=1)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    scopes: list[str] = Field(min_length=1)
    webhook: WebhookTarget | None = None
    rate_limit: RateLimitConfig | None = None
    demo: bool = False
    """Keys shipped in examples/; refused when GATEWAY_ENV=production."""

    @model_validator(mode="after")
    def _one_key_source(self) -> ClientConfig:
        if (self.jwks is None) == (self.jwks_uri is None):
            raise ValueError("give exactly one of 'jwks' or 'jwks_uri'")
        if self.jwks is not None and not isinstance(self.jwks.get("keys"), list):
            raise ValueError("'jwks' must be a JWK Set with a 'keys' list")
        return self


class IssuerConfig(_Strict):
    issuer: str
    jwks_uri: str
    audience: str


class SmartBackendAuthConfig(_Strict):
    type: Literal["smart-backend"]
    token_url: str | None = None
    """Discovered from the EHR's .well-known/smart-configuration when absent."""
    client_id: str
    private_key_file: Path
    kid: str
    alg: Literal["RS384", "ES384"] = "RS384"
    scope: str = "system/ServiceRequest.c system/Task.cru system/Patient.c"


class StatusSyncConfig(_Strict):
    mode: Literal["poll", "subscription"] = "poll"
    poll_seconds: int = Field(default=900, ge=900)
    """At most every 15 minutes against a partner's server (SDOH CC checking_task_status)."""


class _DestinationBase(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    allow_private_network: bool = False
    stall_after_seconds: int | None = Field(default=None, gt=0)
    """Alert when a referral here is not accepted within this many seconds."""
    clients: list[str] = Field(default_factory=list)
    """Client ids that act for this destination as the referral's recipient: they may
    read, search and update (``PUT``/``PATCH /fhir/Task``) the Tasks it owns."""
    max_in_flight: int = Field(default=4, ge=1, le=64)
    """Deliveries a worker sends here at once (one person's referrals still one by one)."""


class FhirDestination(_DestinationBase):
    type: Literal["fhir"]
    base_url: str
    auth: SmartBackendAuthConfig | None = None
    status_sync: StatusSyncConfig | None = None
    consent_category: ConsentCategory | None = None


class EscalationStep(_Strict):
    name: str
    webhook: str


class CrisisDestination(_DestinationBase):
    type: Literal["crisis"]
    url: str | None = None
    """The crisis service's HTTPS endpoint; absent: the built-in inbox is the crisis desk."""
    secret: str | None = None
    ack_sla_seconds: int = Field(default=300, gt=0)
    escalation: list[EscalationStep] = Field(default_factory=list)
    consent_category: ConsentCategory | None = None
    client_id: str | None = None
    """The client that acts for this crisis service: it may acknowledge its referrals."""

    _secret = field_validator("secret")(lambda v: None if v is None else _check_webhook_secret(v))

    @model_validator(mode="after")
    def _url_needs_secret(self) -> CrisisDestination:
        if self.url and not self.secret:
            raise ValueError("a crisis service reached by 'url' needs a 'secret' to sign with")
        if self.escalation and not self.secret:
            raise ValueError("'escalation' webhooks need a 'secret' to sign with")
        return self


class WebhookDelivery(_Strict):
    type: Literal["webhook"]
    url: str
    secret: str

    _secret = field_validator("secret")(_check_webhook_secret)


class FhirDelivery(_Strict):
    type: Literal["fhir"]
    base_url: str


class InboxDelivery(_Strict):
    type: Literal["inbox"]


class CommunityDestination(_DestinationBase):
    type: Literal["community"]
    hsds_base_url: str
    taxonomy_term_id: str | None = None
    proximity: int | None = None
    delivery: Annotated[
        WebhookDelivery | FhirDelivery | InboxDelivery, Field(discriminator="type")
    ] = InboxDelivery(type="inbox")
    consent_category: ConsentCategory | None = None


class InboxDestination(_DestinationBase):
    type: Literal["inbox"]
    consent_category: ConsentCategory | None = None


AnyDestination = FhirDestination | CrisisDestination | CommunityDestination | InboxDestination
Destination = Annotated[AnyDestination, Field(discriminator="type")]


class OutboundConfig(_Strict):
    allow_private: list[str] = Field(default_factory=list)

    @field_validator("allow_private")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.ip_network(value, strict=False)
        return values


class RuleCondition(_Strict):
    """All given fields must match; each list means "any of"."""

    risk_level: list[Literal["none", "low", "moderate", "high", "imminent"]] | None = None
    pathway: list[Literal["crisis", "clinical", "community", "self-care"]] | None = None
    urgency: list[Literal["routine", "urgent", "asap", "stat"]] | None = None
    severity: list[str] | None = None
    """Severity band codes of any instrument total, e.g. ``[moderately-severe, severe]``."""
    safety_signal: bool | None = None
    """A positive PHQ-9 item 9 or C-SSRS ideation answer."""
    state: list[str] | None = None
    postal_code_prefix: list[str] | None = None
    language: list[str] | None = None


class RoutingRule(_Strict):
    name: str
    when: RuleCondition | None = None
    """Absent: a fallback, used only when no earlier rule matched."""
    send_to: list[str] = Field(min_length=1)


class ConsentPolicyConfig(_Strict):
    text_versions: list[str] = Field(default_factory=list)
    """Consent texts the gateway accepts; empty accepts any."""


class GatewayConfig(_Strict):
    clients: list[ClientConfig] = Field(default_factory=list)
    issuers: list[IssuerConfig] = Field(default_factory=list)
    destinations: list[Destination] = Field(min_length=1)
    outbound: OutboundConfig = OutboundConfig()
    routing: list[RoutingRule] = Field(min_length=1)
    consent: ConsentPolicyConfig = ConsentPolicyConfig()
    cds_clients: CdsClients = Field(default_factory=list)
    """EHRs that call the CDS Hooks service (gateway/cds/config.py)."""
    models: ModelCards = Field(default_factory=list)
    drift: DriftConfig = DriftConfig()
    console: ConsoleConfig = ConsoleConfig()
    models_paused_route: str | None = None
    """Where a paused model version's referrals go unless high-risk (gateway/paused_routing.py)."""

    @model_validator(mode="after")
    def _consistent(self) -> GatewayConfig:
        names = [d.name for d in self.destinations]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"destination names must be unique: {', '.join(duplicates)}")
        for index, rule in enumerate(self.routing):
            for target in rule.send_to:
                if target not in names:
                    raise ValueError(
                        f"routing[{index}] ({rule.name}).send_to names unknown destination "
                        f"'{target}'"
                    )
        if not any(isinstance(d, CrisisDestination) for d in self.destinations):
            raise ValueError(
                "no destination of type 'crisis': imminent risk must always have somewhere to go"
            )
        client_ids = [c.client_id for c in self.clients]
        if len(set(client_ids)) != len(client_ids):
            raise ValueError("client_id values must be unique")
        return self

    @model_validator(mode="after")
    def _paused_route_exists(self) -> GatewayConfig:
        if self.models_paused_route and self.models_paused_route not in {
            d.name for d in self.destinations
        }:
            raise ValueError(
                f"models_paused_route names unknown destination '{self.models_paused_route}'"
            )
        return self

    def destination(
        self, name: str
    ) -> FhirDestination | CrisisDestination | CommunityDestination | InboxDestination:
        for dest in self.destinations:
            if dest.name == name:
                return dest
        raise KeyError(name)

    @property
    def crisis_destinations(self) -> list[CrisisDestination]:
        return [d for d in self.destinations if isinstance(d, CrisisDestination)]


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"{key}: {problem['msg']}")
    return "; ".join(lines)


def parse_config(data: Any, *, source: str = "config") -> GatewayConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None


def load_config(path: Path) -> GatewayConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, source=str(path))
