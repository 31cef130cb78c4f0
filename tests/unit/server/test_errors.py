"""How the service turns a core validation error's field path into a 422 ``loc``."""

from __future__ import annotations

import pytest

from groomwatch.server.app import _field_loc


@pytest.mark.parametrize(
    ("field", "loc"),
    [
        ("messages[3].text", ["body", "messages", 3, "text"]),
        ("conversation.participants[0].age", ["body", "conversation", "participants", 0, "age"]),
        ("id", ["body", "id"]),
        (None, ["body"]),
    ],
)
def test_field_paths_become_locations(field: str | None, loc: list[str | int]) -> None:
    assert _field_loc(field) == loc
