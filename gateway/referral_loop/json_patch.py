"""JSON Patch (RFC 6902) operations ``add``, ``remove``, ``replace`` and ``test``, with
JSON Pointer (RFC 6901) paths, applied to a copy of a document.

FHIR R4 "patch" interaction (http.html#patch) accepts JSON Patch; a Task update only
ever needs these four operations (``move`` and ``copy`` are refused as unsupported).
Pure: the input document is never modified.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """The patch document is malformed, or an operation cannot apply (RFC 6902 §5)."""


def _parts(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"'{pointer}' is not a JSON Pointer")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _index(container: list[Any], part: str, *, allow_end: bool) -> int:
    if allow_end and part == "-":
        return len(container)
    if not part.isdigit() or (len(part) > 1 and part.startswith("0")):
        raise PatchError(f"'{part}' is not an array index")
    index = int(part)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} is out of range")
    return index


def _parent(document: Any, parts: list[str]) -> Any:
    node = document
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            node = node[_index(node, part, allow_end=False)]
        else:
            raise PatchError(f"path element '{part}' does not exist")
    return node


def _get(document: Any, parts: list[str]) -> Any:
    if not parts:
        return document
    parent = _parent(document, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"'{last}' does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise PatchError(f"'{last}' does not exist")


def _apply_one(document: Any, operation: Any) -> Any:
    if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
        raise PatchError("each operation needs 'op' and a string 'path'")
    op = operation.get("op")
    parts = _parts(operation["path"])
    if op in {"add", "replace", "test"} and "value" not in operation:
        raise PatchError(f"'{op}' needs a 'value'")
    if op == "test":
        if _get(document, parts) != operation["value"]:
            raise PatchError(f"test failed at '{operation['path']}'")
        return document
    if op not in {"add", "remove", "replace"}:
        raise PatchError(f"operation '{op}' is not supported")
    if not parts:
        if op == "remove":
            raise PatchError("the whole document cannot be removed")
        return copy.deepcopy(operation["value"])
    parent = _parent(document, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if op != "add" and last not in parent:
            raise PatchError(f"'{last}' does not exist")
        if op == "remove":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(operation["value"])
    elif isinstance(parent, list):
        index = _index(parent, last, allow_end=op == "add")
        if op == "add":
            parent.insert(index, copy.deepcopy(operation["value"]))
        elif op == "remove":
            del parent[index]
        else:
            parent[index] = copy.deepcopy(operation["value"])
    else:
        raise PatchError(f"'{operation['path']}' does not name a member or element")
    return document


def apply_patch(document: Any, patch: Any) -> Any:
    """``document`` with every operation of ``patch`` applied in order (all or nothing)."""
    if not isinstance(patch, list):
        raise PatchError("a JSON Patch document is an array of operations")
    result = copy.deepcopy(document)
    for operation in patch:
        result = _apply_one(result, operation)
    return result
