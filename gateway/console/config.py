"""The ``console:`` key of the YAML configuration (CONTRACT.md v1.1 "Console")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OidcConfig(_Strict):
    """Single sign-on through an OpenID Connect provider (authorization code with PKCE).

    ``roles_claim`` names the ID-token claim that holds the console role (a string or a
    list whose first known role is taken); ``destinations_claim`` the destinations.
    """

    issuer: str
    client_id: str
    client_secret: str | None = None
    scope: str = "openid profile"
    roles_claim: str = "console_role"
    destinations_claim: str = "console_destinations"
    username_claim: str = "preferred_username"
    allow_private_network: bool = False
    button_label: str = "Sign in with single sign-on"


class ConsoleConfig(_Strict):
    idle_timeout_seconds: int = Field(default=900, gt=0)
    absolute_timeout_seconds: int = Field(default=43200, gt=0)
    lockout_failures: int = Field(default=5, ge=1)
    lockout_window_seconds: int = Field(default=900, gt=0)
    lockout_seconds: int = Field(default=900, gt=0)
    poll_seconds: float = Field(default=2.0, gt=0, le=5)
    """How often the crisis desk asks for its queue (the contract: new ones within 5 s)."""
    oidc: OidcConfig | None = None
