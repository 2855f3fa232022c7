"""The FHIR search the gateway serves: one table of parameters, and the parser that obeys it.

http://hl7.org/fhir/R4/search.html. ``SEARCH_PARAMS`` names, per served type, the
search parameters really applied; ``gateway.capability`` lists exactly these, so the
CapabilityStatement and the search cannot drift apart. Result parameters:
``_count``, ``_offset`` (paging links), ``_summary=count``, ``_sort``
(``_lastUpdated``, ``_id``, ``-`` for descending), ``_include`` (``Task:focus``,
``Task:patient``), ``_format`` (JSON only; see ``gateway.api.fhir_format``).

Dates follow §3.1.1.4.2 (prefixes eq ne lt gt le ge sa eb): a search value stands
for the range its precision implies (``2026-12-01`` is the whole day), and a
resource's ``meta.lastUpdated`` is a point compared with that range. A parameter, a
modifier or a value the gateway does not support is ignored and left out of the
Bundle's ``self`` link (§3.1.1.5), unless the caller sent ``Prefer: handling=strict``:
then it is a 400. A malformed value of a supported parameter is always a 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from gateway.errors import Issue, MalformedRequest


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str


PARAMS = {
    p.name: p
    for p in (
        SearchParam("_id", "token", "Logical id; several separated by commas (any of them)."),
        SearchParam("_lastUpdated", "date", "meta.lastUpdated; prefixes eq ne lt gt le ge sa eb."),
        SearchParam("identifier", "token", "system|value, |value or value; commas: any of them."),
        SearchParam("patient", "reference", "Patient/id or id: resources about that person."),
        SearchParam("status", "token", "The resource's status; commas: any of them."),
        SearchParam("owner", "reference", "Organization/<destination>: Tasks it owns."),
    )
}
SEARCH_PARAMS: dict[str, tuple[str, ...]] = {
    "ServiceRequest": ("_id", "_lastUpdated", "identifier", "patient", "status"),
    "Task": ("_id", "_lastUpdated", "identifier", "patient", "status", "owner"),
    "Patient": ("_id", "_lastUpdated", "identifier"),
    "Observation": ("_id", "_lastUpdated", "identifier", "patient", "status"),
    "QuestionnaireResponse": ("_id", "_lastUpdated", "identifier", "patient", "status"),
    "RiskAssessment": ("_id", "_lastUpdated", "identifier", "patient"),
    "Provenance": ("_id", "_lastUpdated", "patient"),
    "Consent": ("_id", "_lastUpdated", "identifier", "patient", "status"),
    "AuditEvent": ("_id", "_lastUpdated", "patient"),
    "Organization": ("_id", "_lastUpdated", "identifier"),
    "Device": ("_id", "_lastUpdated", "identifier"),
}
"""Per served type, the search parameters applied (R4 names, R4 meanings)."""
SERVED_TYPES = tuple(SEARCH_PARAMS)
INCLUDES: dict[str, dict[str, tuple[str, str]]] = {
    "Task": {"Task:focus": ("focus", "ServiceRequest"), "Task:patient": ("for", "Patient")},
}
"""Per type, each ``_include`` served: the element followed and the type it points to."""
SORTS = ("_lastUpdated", "_id")
REFERENCE_TYPES = {"patient": "Patient", "owner": "Organization"}
"""Reference parameters and the one type each may point to (``:Type`` modifier)."""
RESULT_PARAMS = ("_count", "_offset", "_summary", "_sort", "_include", "_format")
MAX_COUNT = 200
DEFAULT_COUNT = 50
DATE_PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")


def search_params(resource_type: str) -> tuple[SearchParam, ...]:
    return tuple(PARAMS[name] for name in SEARCH_PARAMS[resource_type])


@dataclass(frozen=True)
class DateRange:
    """``prefix`` applied to the range [low, high) a search date stands for."""

    prefix: str
    low: datetime
    high: datetime

    def admits(self, moment: datetime) -> bool:
        inside = self.low <= moment < self.high
        return {
            "eq": inside,
            "ne": not inside,
            "lt": moment < self.low,
            "eb": moment < self.low,
            "le": moment < self.high,
            "gt": moment >= self.high,
            "sa": moment >= self.high,
            "ge": moment >= self.low,
        }[self.prefix]


@dataclass(frozen=True)
class Criteria:
    """What one search asks for; each tuple holds conditions that must ALL hold."""

    resource_type: str
    ids: tuple[frozenset[str], ...] = ()
    identifiers: tuple[tuple[tuple[str | None, str | None], ...], ...] = ()
    patient_ids: tuple[str, ...] = ()
    statuses: tuple[frozenset[str], ...] = ()
    owners: tuple[str, ...] = ()
    last_updated: tuple[DateRange, ...] = ()
    sort: tuple[tuple[str, bool], ...] = (("_lastUpdated", False), ("_id", False))
    """(parameter, descending) pairs."""
    count: int = DEFAULT_COUNT
    offset: int = 0
    summary_count: bool = False
    includes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedSearch:
    criteria: Criteria
    applied: list[tuple[str, str]] = field(default_factory=list)
    """(name, value) pairs applied, for the Bundle's links."""
    ignored: list[str] = field(default_factory=list)


class Unsupported(Exception):
    """A parameter, modifier or value the gateway does not serve (400 only when strict)."""


def bad_value(param: str, message: str) -> MalformedRequest:
    text = f"search parameter {param}: {message}"
    return MalformedRequest(text, issues=[Issue(text, expression=param, code="invalid")])


_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def date_range(param: str, value: str) -> DateRange:
    """A ``date`` parameter value with its prefix, as a range at its own precision."""
    prefix = value[:2] if value[:2].isalpha() else "eq"
    text = value[2:] if value[:2].isalpha() else value
    found = _DATE.match(text)
    if prefix not in DATE_PREFIXES and found:
        raise Unsupported(f"prefix {prefix}")
    if not found:
        raise bad_value(param, f"'{text}' is not a FHIR date or dateTime")
    g = found.groupdict()
    try:
        tz: tzinfo = UTC
        if g["tz"] and g["tz"] != "Z":
            tz = datetime.fromisoformat(f"2000-01-01T00:00:00{g['tz']}").tzinfo or UTC
        low = datetime(
            int(g["y"]), int(g["m"] or 1), int(g["d"] or 1), int(g["H"] or 0),
            int(g["M"] or 0), int(g["S"] or 0), int((g["f"] or "0").ljust(6, "0")), tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad_value(param, f"'{text}' is not a real date") from None
    if g["m"] is None:
        high = low.replace(year=low.year + 1)
    elif g["d"] is None:
        high = low.replace(year=low.year + low.month // 12, month=low.month % 12 + 1)
    elif g["H"] is None:
        high = low + timedelta(days=1)
    elif g["S"] is None:
        high = low + timedelta(minutes=1)
    else:
        high = low + timedelta(microseconds=10 ** (6 - len(g["f"] or "")))
    return DateRange(prefix, low, high)


def _values(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def _reference_id(value: str, rtype: str) -> str:
    """The id in ``Type/id``, a full URL ending so, or a bare id."""
    marker = f"{rtype}/"
    return value.rsplit(marker, 1)[1] if marker in value else value


def _number(param: str, value: str, high: int) -> int:
    if not value.isdigit():
        raise bad_value(param, "must be a whole number")
    return min(int(value), high)


def _identifier(value: str) -> tuple[str | None, str | None]:
    system, sep, code = value.partition("|")
    if not sep:
        return (None, value)
    return (system, code or None)


def strict_requested(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header asks for ``handling=strict`` (R4 search §3.1.1.5)."""
    tokens = re.split(r"[,;]", (prefer or "").lower())
    return any(t.replace(" ", "") == "handling=strict" for t in tokens)


class _Builder:
    def __init__(self, resource_type: str) -> None:
        self.rtype = resource_type
        self.fields: dict[str, object] = {}
        self.lists: dict[str, list[object]] = {}

    def add(self, key: str, item: object) -> None:
        self.lists.setdefault(key, []).append(item)

    def apply(self, name: str, value: str) -> str:
        """Apply one parameter; returns the (possibly normalised) value for the links."""
        base, _, modifier = name.partition(":")
        if base in REFERENCE_TYPES and modifier == REFERENCE_TYPES[base]:
            modifier = ""
        if modifier:
            raise Unsupported(f"modifier :{modifier}")
        if base in SEARCH_PARAMS[self.rtype]:
            self._search(base, value)
            return value
        if base in RESULT_PARAMS:
            return self._result(base, value)
        raise Unsupported("parameter")

    def _search(self, base: str, value: str) -> None:
        if base == "_id":
            self.add("ids", frozenset(_values(value)))
        elif base == "identifier":
            self.add("identifiers", tuple(_identifier(v) for v in _values(value)))
        elif base == "patient":
            self.add("patient_ids", _reference_id(value, "Patient"))
        elif base == "status":
            self.add("statuses", frozenset(_values(value)))
        elif base == "owner":
            self.add("owners", f"Organization/{_reference_id(value, 'Organization')}")
        elif base == "_lastUpdated":
            self.add("last_updated", date_range(base, value))

    def _result(self, base: str, value: str) -> str:
        if base == "_count":
            self.fields["count"] = _number(base, value, MAX_COUNT)
            return str(self.fields["count"])
        if base == "_offset":
            self.fields["offset"] = _number(base, value, 10**9)
        elif base == "_summary":
            if value not in ("count", "false"):
                raise Unsupported(f"value {value}")
            self.fields["summary_count"] = value == "count"
        elif base == "_sort":
            self.fields["sort"] = self._sort(value)
        elif base == "_include":
            served = INCLUDES.get(self.rtype, {})
            include = value.rsplit(":", 1)[0] if value.count(":") == 2 else value
            if include not in served or value not in (include, f"{include}:{served[include][1]}"):
                raise Unsupported(f"value {value}")
            self.add("includes", include)
        elif base == "_format":
            raise Unsupported("in links")  # checked by gateway.api.fhir_format; not a filter
        return value

    @staticmethod
    def _sort(value: str) -> tuple[tuple[str, bool], ...]:
        keys = []
        for item in _values(value):
            name = item.removeprefix("-")
            if name not in SORTS:
                raise Unsupported(f"sort key {name}")
            keys.append((name, item.startswith("-")))
        if "_id" not in [name for name, _ in keys]:
            keys.append(("_id", False))
        return tuple(keys)

    def criteria(self) -> Criteria:
        merged = {k: tuple(v) for k, v in self.lists.items()}
        return Criteria(resource_type=self.rtype, **merged, **self.fields)  # type: ignore[arg-type]


def parse_search(
    resource_type: str, params: Iterable[tuple[str, str]], *, strict: bool = False
) -> ParsedSearch:
    """The criteria of one search, what was applied of it, and what was ignored."""
    builder = _Builder(resource_type)
    applied: list[tuple[str, str]] = []
    ignored: list[str] = []
    for name, value in params:
        try:
            applied.append((name, builder.apply(name, value)))
        except Unsupported as why:
            if name == "_format":
                continue
            if strict:
                message = f"not supported on {resource_type} ({why})"
                raise bad_value(name, message) from None
            ignored.append(name)
    return ParsedSearch(builder.criteria(), applied, ignored)
