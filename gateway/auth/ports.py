"""Ports the authorization server needs from storage; the database adapters implement them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class RegisteredClient:
    """A backend-services client: its keys (inline JWKS or a JWKS URL) and allowed scopes."""

    client_id: str
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    scopes: list[str] = field(default_factory=list)


class ClientRegistry(ABC):
    @abstractmethod
    async def get(self, client_id: str) -> RegisteredClient | None:
        """The registered client, or ``None`` when unknown."""


class JtiStore(ABC):
    @abstractmethod
    async def remember(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record ``jti`` for ``client_id`` until ``expires_at``.

        Return ``False`` when that pair was already recorded and has not yet expired.
        Must hold across workers and restarts, and be atomic (insert-if-absent).
        """


AuthAction = Literal["token.issued", "token.refused"]


@dataclass(frozen=True)
class AuthEvent:
    """One issuance or refusal. Never carries an assertion or a token."""

    action: AuthAction
    at: datetime
    client_id: str | None
    """Authenticated client, or the unverified ``iss`` a refused request claimed."""
    error: str | None = None
    """The OAuth code sent to the client (``invalid_client`` ...)."""
    reason: str | None = None
    """The precise internal reason, for operators only."""
    scope: str | None = None
    """Granted scope when issued; the scope requested (if any) when refused."""
    token_id: str | None = None
    """``jti`` of the access token issued."""
    expires_in: int | None = None


class AuthAuditSink(ABC):
    @abstractmethod
    async def record(self, event: AuthEvent) -> None:
        """Persist ``event``."""
