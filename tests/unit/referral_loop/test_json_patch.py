"""JSON Patch (RFC 6902) add/remove/replace/test with JSON Pointer (RFC 6901) paths."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.referral_loop.json_patch import PatchError, apply_patch

DOC: dict[str, Any] = {
    "status": "requested",
    "note": [{"text": "a"}],
    "a/b": {"m~n": 1},
}


def test_replace_add_and_append() -> None:
    patched = apply_patch(
        DOC,
        [
            {"op": "test", "path": "/status", "value": "requested"},
            {"op": "replace", "path": "/status", "value": "accepted"},
            {"op": "add", "path": "/businessStatus", "value": {"text": "scheduled"}},
            {"op": "add", "path": "/note/-", "value": {"text": "b"}},
            {"op": "add", "path": "/note/0", "value": {"text": "first"}},
        ],
    )
    assert patched["status"] == "accepted"
    assert patched["businessStatus"] == {"text": "scheduled"}
    assert [n["text"] for n in patched["note"]] == ["first", "a", "b"]
    assert DOC["status"] == "requested" and len(DOC["note"]) == 1  # input untouched


def test_remove_and_escaped_pointer() -> None:
    patched = apply_patch(
        DOC,
        [
            {"op": "remove", "path": "/note/0"},
            {"op": "replace", "path": "/a~1b/m~0n", "value": 2},
        ],
    )
    assert patched["note"] == []
    assert patched["a/b"] == {"m~n": 2}


@pytest.mark.parametrize(
    "patch",
    [
        {"op": "replace"},
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "test", "path": "/status", "value": "accepted"}],
        [{"op": "move", "from": "/status", "path": "/x"}],
        [{"op": "add", "path": "status", "value": 1}],
        [{"op": "add", "path": "/note/5", "value": 1}],
        [{"op": "add", "path": "/note/01", "value": 1}],
        [{"op": "replace", "path": "/status"}],
        [{"op": "remove", "path": ""}],
        ["not an operation"],
    ],
)
def test_bad_patches_are_refused_whole(patch: Any) -> None:
    with pytest.raises(PatchError):
        apply_patch(DOC, patch)


def test_a_failed_test_leaves_nothing_applied() -> None:
    with pytest.raises(PatchError):
        apply_patch(
            DOC,
            [
                {"op": "replace", "path": "/status", "value": "accepted"},
                {"op": "test", "path": "/status", "value": "requested"},
            ],
        )
    assert DOC["status"] == "requested"
