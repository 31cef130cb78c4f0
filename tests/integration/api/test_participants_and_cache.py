"""Declared participants on appends, and the per-process cache of streaming detectors (which
must never serve a detector that is behind the stored state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from groomwatch.conversation import Conversation
from groomwatch.server.app import create_app
from groomwatch.server.models import StreamedConversation

ROLES = [
    {"id": "adult1", "role": "adult", "age": 34},
    {"id": "kid1", "role": "child", "age": 13},
]


def _stored_participants(api: Any, cid: str) -> Any:
    with api.session_factory() as session:
        return session.scalar(
            select(StreamedConversation.participants).where(StreamedConversation.external_id == cid)
        )


PREFIX = 6  # messages of kit.grooming whose risk is not yet saturated, so roles show


def _assess(detector: Any, kit: Any, participants: list[dict[str, Any]]) -> Any:
    msgs = kit.messages(kit.grooming[:PREFIX])
    return detector.assess(
        Conversation.from_dict({"id": "x", "participants": participants, "messages": msgs})
    )


def test_declared_roles_reach_the_detector_and_are_stored(
    api: Any, kit: Any, detector: Any
) -> None:
    msgs = kit.messages(kit.grooming[:PREFIX])
    body = {"messages": msgs, "participants": ROLES}
    with_roles = api.client.post(
        "/v1/conversations/p1/messages", json=body, headers=api.auth("calm")
    ).json()
    without = api.append("p2", msgs, tenant="calm").json()
    # The same risk as the whole-conversation detector given the same participants.
    assert with_roles["risk"] == pytest.approx(_assess(detector, kit, ROLES).risk, abs=1e-4)
    assert without["risk"] == pytest.approx(_assess(detector, kit, []).risk, abs=1e-4)
    assert with_roles["risk"] > without["risk"]  # adult -> declared child adds context
    assert _stored_participants(api, "p1") == ROLES
    assert _stored_participants(api, "p2") is None


def test_participants_declared_later_are_merged_and_count_from_then_on(
    api: Any, kit: Any, detector: Any
) -> None:
    msgs = kit.messages(kit.grooming[:PREFIX])
    url = "/v1/conversations/late/messages"
    first = {"messages": msgs[:2], "participants": [{"id": "kid1", "role": "unknown"}]}
    assert api.client.post(url, json=first, headers=api.auth("calm")).status_code == 200
    second = {"messages": msgs[2:], "participants": ROLES}
    late = api.client.post(url, json=second, headers=api.auth("calm")).json()
    assert _stored_participants(api, "late") == [ROLES[1], ROLES[0]]  # kid1 replaced, adult1 added
    # The roles were known before any tactic pattern formed, so the end state is the same as
    # with the roles declared from the start.
    assert late["risk"] == pytest.approx(_assess(detector, kit, ROLES).risk, abs=1e-4)


@pytest.mark.parametrize(
    ("participants", "loc"),
    [
        ([{"id": "u1", "role": "grown-up"}], ["body", "participants", 0, "role"]),
        ([{"id": "u1", "age": -1}], ["body", "participants", 0, "age"]),
        ([{"id": ""}], ["body", "participants", 0, "id"]),
        ([{"id": "u1", "colour": "red"}], ["body", "participants", 0, "colour"]),
        ([{"id": "u1"}, {"id": "u1", "role": "adult"}], ["body", "participants"]),
        ({"id": "u1"}, ["body", "participants"]),
    ],
)
def test_invalid_participants_are_422_naming_the_field(
    sqlite_api: Any, participants: Any, loc: list[Any]
) -> None:
    api = sqlite_api
    body = {"messages": [{"text": "hi"}], "participants": participants}
    r = api.client.post("/v1/conversations/v1/messages", json=body, headers=api.auth())
    assert r.status_code == 422
    assert loc in [e["loc"] for e in r.json()["detail"]]
    assert api.client.get("/v1/conversations/v1", headers=api.auth()).status_code == 404


def test_idempotency_key_covers_the_participants(sqlite_api: Any) -> None:
    api = sqlite_api
    url = "/v1/conversations/idem/messages"
    headers = {**api.auth(), "Idempotency-Key": "k1"}
    body = {"messages": [{"text": "hi", "id": "m1"}], "participants": ROLES}
    assert api.client.post(url, json=body, headers=headers).status_code == 200
    assert api.client.post(url, json=body, headers=headers).status_code == 200
    other = {"messages": body["messages"], "participants": ROLES[:1]}
    assert api.client.post(url, json=other, headers=headers).status_code == 409


def test_two_processes_interleaved_match_one_stream(
    database_url: str, tmp_path: Path, detector: Any, kit: Any, alert_threshold: float
) -> None:
    """Appends to one conversation alternate between two applications (each with its cache of
    detectors, as two server processes): every answer is the one a single stream gives, so a
    cached detector that another process has moved past is never used."""
    from groomwatch.db import upgrade_database

    upgrade_database(database_url)
    key = kit.make_tenants(database_url, ("acme",))["acme"]
    auth = {"Authorization": f"Bearer {key}"}
    settings = kit.settings(database_url, tmp_path)
    msgs = kit.messages(kit.grooming, ids="m")
    url = "/v1/conversations/{}/messages"
    a, b = create_app(settings, detector=detector), create_app(settings, detector=detector)
    with TestClient(a) as ca, TestClient(b) as cb:
        mixed = [
            (ca if i % 3 else cb).post(url.format("mixed"), json={"messages": [m]}, headers=auth)
            for i, m in enumerate(msgs)
        ]
        single = [ca.post(url.format("single"), json={"messages": [m]}, headers=auth) for m in msgs]
        assert len(a.state.monitor_cache) >= 1
    for x, y in zip(mixed, single, strict=True):
        bx, by = x.json(), y.json()
        assert bx["message_count"] == by["message_count"]
        assert bx["risk"] == pytest.approx(by["risk"], abs=1e-9)
        assert bx["first_alert"] == by["first_alert"]
        assert bx["findings"] == by["findings"]


def test_a_cached_detector_follows_the_tenants_new_policy(
    api: Any, kit: Any, alert_threshold: float
) -> None:
    msgs = kit.messages(kit.grooming)
    api.set_tenant("acme", threshold=1.0)  # cannot fire
    first = api.append("pol", msgs[:-1]).json()
    assert first["first_alert"] is None
    api.set_tenant("acme", threshold=alert_threshold)
    last = api.append("pol", msgs[-1:]).json()
    assert last["risk"] >= alert_threshold
    assert last["fired"] is True
    assert last["first_alert"] == len(msgs) - 1


def test_roles_declared_with_only_duplicates_are_saved_in_the_state(api: Any, kit: Any) -> None:
    """An append whose messages are all retries still stores new roles in the detector state,
    so another process restoring it sees them."""
    url = "/v1/conversations/dup/messages"
    msgs = kit.messages(kit.grooming[:2], ids="m")
    assert api.client.post(url, json={"messages": msgs}, headers=api.auth()).status_code == 200
    again = api.client.post(
        url, json={"messages": msgs, "participants": ROLES}, headers=api.auth()
    ).json()
    assert again["accepted"] == 0
    assert again["duplicates"] == 2
    with api.session_factory() as session:
        conv = session.scalars(
            select(StreamedConversation).where(StreamedConversation.external_id == "dup")
        ).one()
    assert conv.participants == ROLES
    assert conv.state is not None
    assert conv.state["pattern"]["adults"] == ["adult1"]
    assert conv.state["pattern"]["minors"] == ["kid1"]
