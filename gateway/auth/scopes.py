"""SMART App Launch 2.x scopes (scopes-and-launch-context.md, "SMART's scopes").

Grammar: ``(patient|user|system)/(Type|*).<permissions>[?param=value&...]`` where
the v2 permissions are a non-empty, in-order subset of ``cruds`` and the v1 suffixes
map as ``read`` -> ``rs``, ``write`` -> ``cud``, ``*`` -> ``cruds``. Anything else,
including unknown resource types, is ``invalid_scope`` (RFC 6749 §5.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

from gateway.auth.errors import InvalidScope
from gateway.auth.resource_types import R4_RESOURCE_TYPES

PERMISSION_ORDER = "cruds"
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
OPERATOR_SCOPE_TEXT = "system/*.rs"

_SCOPE = re.compile(
    r"(?P<context>patient|user|system)/(?P<type>[A-Za-z]+|\*)\."
    r"(?:(?P<v1>read|write|\*)|(?P<v2>c?r?u?d?s?)(?:\?(?P<query>[^\s?]+))?)"
)


@dataclass(frozen=True)
class Scope:
    """One parsed SMART scope, always held in v2 form."""

    context: str
    resource_type: str
    permissions: str
    parameters: tuple[tuple[str, str], ...] = ()

    def covers(self, other: Scope) -> bool:
        """Whether holding ``self`` is enough to hold ``other``."""
        return (
            self.context == other.context
            and self.resource_type in ("*", other.resource_type)
            and set(other.permissions) <= set(self.permissions)
            and set(self.parameters) <= set(other.parameters)
        )

    def __str__(self) -> str:
        text = f"{self.context}/{self.resource_type}.{self.permissions}"
        if self.parameters:
            text += "?" + "&".join(f"{name}={value}" for name, value in self.parameters)
        return text


def parse_scope(text: str) -> Scope:
    """Parse one scope; raise ``InvalidScope`` if it breaks the grammar."""
    match = _SCOPE.fullmatch(text)
    if match is None:
        raise InvalidScope(f"malformed scope: {text}")
    resource_type = match["type"]
    if resource_type != "*" and resource_type not in R4_RESOURCE_TYPES:
        raise InvalidScope(f"unknown resource type in scope: {text}")
    if match["v1"] is not None:
        return Scope(match["context"], resource_type, V1_PERMISSIONS[match["v1"]])
    if not match["v2"]:
        raise InvalidScope(f"scope grants no permission: {text}")
    return Scope(match["context"], resource_type, match["v2"], _parse_parameters(text, match))


def _parse_parameters(text: str, match: re.Match[str]) -> tuple[tuple[str, str], ...]:
    query = match["query"]
    if query is None:
        return ()
    try:
        pairs = parse_qsl(query, keep_blank_values=False, strict_parsing=True)
    except ValueError as error:
        raise InvalidScope(f"malformed scope parameters: {text}") from error
    return tuple(sorted(pairs))


@dataclass(frozen=True)
class ScopeSet:
    """The scopes a principal holds; what it may do is what some scope covers."""

    scopes: tuple[Scope, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ScopeSet:
        """Parse a space-separated scope string (RFC 6749 §3.3); duplicates collapse."""
        return cls.of(parse_scope(item) for item in text.split())

    @classmethod
    def of(cls, scopes: Iterable[Scope]) -> ScopeSet:
        return cls(tuple(dict.fromkeys(scopes)))

    def covers(self, scope: Scope) -> bool:
        return any(held.covers(scope) for held in self.scopes)

    def permits(self, resource_type: str, permission: str, context: str = "system") -> bool:
        """Whether one permission letter (``c r u d s``) on ``resource_type`` is held."""
        if permission not in PERMISSION_ORDER or len(permission) != 1:
            raise ValueError(f"not a SMART permission letter: {permission!r}")
        return self.covers(Scope(context, resource_type, permission))

    @property
    def is_operator(self) -> bool:
        """Holds ``system/*.rs`` or wider: may read everything the gateway holds."""
        return self.covers(parse_scope(OPERATOR_SCOPE_TEXT))

    def __iter__(self) -> Iterator[Scope]:
        return iter(self.scopes)

    def __len__(self) -> int:
        return len(self.scopes)

    def __str__(self) -> str:
        return " ".join(str(scope) for scope in self.scopes)


def grant(requested: ScopeSet, allowed: ScopeSet) -> ScopeSet:
    """The requested scopes that some allowed scope covers, in the order requested."""
    return ScopeSet.of(scope for scope in requested if allowed.covers(scope))
