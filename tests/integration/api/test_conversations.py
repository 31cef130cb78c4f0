"""Streaming appends, state and risk history, idempotency, validation and erasure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from groomwatch.conversation import Conversation
from groomwatch.server.app import create_app
from groomwatch.server.models import (
    IdempotentAppend,
    Review,
    StoredFinding,
    StoredMessage,
    StreamedConversation,
    WebhookEvent,
)

CONTRACT = {
    "id",
    "message_count",
    "accepted",
    "duplicates",
    "risk",
    "alert",
    "fired",
    "first_alert",
    "suspect",
    "findings",
    "review",
    "steps",
}


def test_append_one_message_answers_the_contract(api: Any, kit: Any) -> None:
    r = api.append("c1", kit.messages(kit.ordinary[:1]), tenant="calm")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == CONTRACT
    assert body["id"] == "c1"
    assert body["message_count"] == 1
    assert body["accepted"] == 1
    assert 0.0 <= body["risk"] <= 1.0
    assert body["alert"] is False
    assert body["first_alert"] is None
    assert body["review"] is None
    assert body["steps"] == []
    assert r.headers["cache-control"] == "no-store"


def test_grooming_fires_once_with_review_steps_and_findings(
    api: Any, kit: Any, alert_index: int
) -> None:
    body = api.append("g1", kit.messages(kit.grooming)).json()
    assert body["fired"] is True
    assert body["first_alert"] == alert_index
    assert body["suspect"] == "adult1"
    assert body["review"]
    keys = {s["key"] for s in body["steps"]}
    assert {"preserve_evidence", "restrict_contact", "report_authority"} <= keys
    tactics = {f["tactic"] for f in body["findings"]}
    assert {"secrecy", "meeting"} <= tactics
    for f in body["findings"]:
        text = kit.grooming[f["message"]][1]
        assert text[f["start"] : f["end"]] == f["evidence"]

    later = api.append("g1", kit.messages(kit.grooming[-3:])).json()
    assert later["fired"] is False
    assert later["first_alert"] == body["first_alert"]
    assert later["review"] == body["review"]
    with api.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 1


def test_streaming_matches_the_scan_contract_first_alert(
    api: Any, kit: Any, detector: Any, alert_threshold: float, alert_index: int
) -> None:
    one_by_one = [api.append("s1", [m]).json() for m in kit.messages(kit.grooming)]
    fired = [b["message_count"] - 1 for b in one_by_one if b["fired"]]
    assert len(fired) == 1
    conv = Conversation.from_dict({"id": "s1", "messages": kit.messages(kit.grooming)})
    policy = type(detector.default_policy).from_dict(
        {
            **detector.default_policy.to_dict(),
            "threshold": alert_threshold,
            "window": 1,
            "min_messages": 1,
        }
    )
    assessment = detector.assess(conv, policy)
    assert fired[0] == alert_index
    assert fired[0] == one_by_one[-1]["first_alert"] == assessment.first_alert
    batch = api.append("s2", kit.messages(kit.grooming)).json()
    assert batch["first_alert"] == assessment.first_alert
    assert batch["risk"] == pytest.approx(one_by_one[-1]["risk"], abs=1e-4)


def test_read_gives_state_history_findings_and_messages_on_request(api: Any, kit: Any) -> None:
    appended = api.append("h1", kit.messages(kit.grooming, ids="m")).json()
    r = api.client.get("/v1/conversations/h1", headers=api.auth())
    assert r.status_code == 200
    state = r.json()
    assert state["message_count"] == len(kit.grooming)
    assert [p["message"] for p in state["history"]] == list(range(len(kit.grooming)))
    assert state["history"][-1]["risk"] == pytest.approx(appended["risk"], abs=1e-4)
    assert state["first_alert"] == appended["first_alert"]
    assert state["review"] == {"id": appended["review"], "status": "pending"}
    assert state["findings"] == appended["findings"]
    assert state["messages"] is None
    full = api.client.get(
        "/v1/conversations/h1", params={"include_messages": "true"}, headers=api.auth()
    ).json()
    assert [m["text"] for m in full["messages"]] == [t for _, t in kit.grooming]
    assert full["messages"][0]["id"] == "m-0"
    assert api.client.get("/v1/conversations/nope", headers=api.auth()).status_code == 404


def test_client_message_ids_make_retries_safe(api: Any, kit: Any) -> None:
    batch = kit.messages(kit.ordinary, ids="x")
    first = api.append("d1", batch).json()
    assert (first["accepted"], first["duplicates"]) == (4, 0)
    again = api.append("d1", batch).json()
    assert (again["accepted"], again["duplicates"], again["message_count"]) == (0, 4, 4)
    overlap = api.append("d1", [*batch[2:], {"id": "x-new", "text": "bye"}]).json()
    assert (overlap["accepted"], overlap["duplicates"], overlap["message_count"]) == (1, 2, 5)
    dup_in_batch = api.append("d1", [{"id": "y", "text": "a"}, {"id": "y", "text": "a"}]).json()
    assert (dup_in_batch["accepted"], dup_in_batch["duplicates"]) == (1, 1)


def test_idempotency_key_replays_the_first_answer(api: Any, kit: Any) -> None:
    batch = kit.messages(kit.grooming)
    first = api.append("i1", batch, **{"Idempotency-Key": "req-1"})
    second = api.append("i1", batch, **{"Idempotency-Key": "req-1"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    state = api.client.get("/v1/conversations/i1", headers=api.auth()).json()
    assert state["message_count"] == len(batch)
    conflict = api.append("i1", batch[:1], **{"Idempotency-Key": "req-1"})
    assert conflict.status_code == 409
    with api.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "messages"]),
        ({"messages": []}, ["body", "messages"]),
        ({"messages": [{"author": "u1"}]}, ["body", "messages", 0, "text"]),
        ({"messages": [{"text": "ok"}, {"text": 5}]}, ["body", "messages", 1, "text"]),
        ({"messages": [{"text": "ok", "colour": "red"}]}, ["body", "messages", 0, "colour"]),
        ({"messages": [{"text": "ok", "time": "x" * 65}]}, ["body", "messages", 0, "time"]),
        ({"messages": [{"text": "ok", "id": ""}]}, ["body", "messages", 0, "id"]),
    ],
)
def test_invalid_appends_are_422_naming_the_field(
    sqlite_api: Any, body: dict[str, Any], loc: list[Any]
) -> None:
    api = sqlite_api
    r = api.client.post("/v1/conversations/v1/messages", json=body, headers=api.auth())
    assert r.status_code == 422
    assert loc in [e["loc"] for e in r.json()["detail"]]
    assert api.client.get("/v1/conversations/v1", headers=api.auth()).status_code == 404


def test_422_does_not_echo_message_text(sqlite_api: Any) -> None:
    api = sqlite_api
    marker = "PRIVATE-MARKER-TEXT"
    r = api.client.post(
        "/v1/conversations/v1/messages",
        json={"messages": [{"text": "fine"}, {"text": "ok", "author": {"n": marker}}]},
        headers=api.auth(),
    )
    assert r.status_code == 422
    assert marker not in r.text


def test_limits_messages_length_count_body_and_id(
    database_url: str, tmp_path: Path, detector: Any, kit: Any
) -> None:
    from groomwatch.db import upgrade_database

    upgrade_database(database_url)
    key = kit.make_tenants(database_url, ("acme",))["acme"]
    settings = kit.settings(
        database_url,
        tmp_path,
        api_max_message_chars=50,
        api_max_messages_per_append=3,
        api_max_body_bytes=2048,
    )
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings, detector=detector)) as client:
        url = "/v1/conversations/lim/messages"
        long_text = {"messages": [{"text": "ok"}, {"text": "y" * 51}]}
        r = client.post(url, json=long_text, headers=auth)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "messages", 1, "text"]
        r = client.post(url, json={"messages": [{"text": "a"}] * 4}, headers=auth)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "messages"]
        r = client.post(url, json={"messages": [{"text": "z" * 40}] * 60}, headers=auth)
        assert r.status_code == 413
        r = client.post(
            url, content=b"{not json", headers={**auth, "Content-Type": "application/json"}
        )
        assert r.status_code == 422
        for bad in ("a" * 201, "has space", "sl%2Fash"):
            r = client.post(f"/v1/conversations/{bad}/messages", json=long_text, headers=auth)
            assert r.status_code in (404, 422), bad
        r = client.post("/v1/conversations/" + "a" * 201 + "/messages", json={}, headers=auth)
        assert r.status_code == 422
        assert ["path", "id"] in [e["loc"] for e in r.json()["detail"]]


def test_state_survives_a_restart(
    database_url: str, tmp_path: Path, detector: Any, kit: Any, alert_threshold: float
) -> None:
    """Half a conversation through one application, the rest through a new one (as after a
    restart or on another process): the same result as in one go."""
    from groomwatch.db import upgrade_database

    upgrade_database(database_url)
    key = kit.make_tenants(database_url, ("acme",))["acme"]
    auth = {"Authorization": f"Bearer {key}"}
    settings = kit.settings(database_url, tmp_path)
    msgs = kit.messages(kit.grooming)
    url = "/v1/conversations/{}/messages"
    with TestClient(create_app(settings, detector=detector)) as client:
        client.post(url.format("split"), json={"messages": msgs[:5]}, headers=auth)
    with TestClient(create_app(settings, detector=detector)) as client:
        split = client.post(url.format("split"), json={"messages": msgs[5:]}, headers=auth)
        whole = client.post(url.format("whole"), json={"messages": msgs}, headers=auth)
    a, b = split.json(), whole.json()
    assert a["message_count"] == b["message_count"] == len(msgs)
    assert a["risk"] == pytest.approx(b["risk"], abs=1e-6)
    assert a["first_alert"] == b["first_alert"]


def test_erasure_erases_everything(api: Any, kit: Any, webhook_receiver: Any) -> None:
    marker = "ERASE-ME-7f3a9c"
    api.set_tenant("acme", webhook_url=webhook_receiver.url, webhook_secret=webhook_receiver.secret)
    webhook_receiver.fail_always = True  # keep the webhook event undelivered in the outbox
    pairs = [*kit.grooming, ("adult1", f"{marker} remember our secret")]
    body = api.append("e1", kit.messages(pairs, ids="e"), **{"Idempotency-Key": "k1"}).json()
    assert body["review"]
    api.append("keep", kit.messages(kit.ordinary), tenant="calm")

    r = api.client.delete("/v1/conversations/e1", headers=api.auth())
    assert r.status_code == 204
    assert api.client.get("/v1/conversations/e1", headers=api.auth()).status_code == 404
    assert api.client.delete("/v1/conversations/e1", headers=api.auth()).status_code == 404
    with api.session_factory() as session:
        for model in (StoredMessage, StoredFinding, Review, IdempotentAppend, WebhookEvent):
            count = session.scalar(select(func.count()).select_from(model))
            if model is StoredMessage:
                assert count == len(kit.ordinary)
            else:
                assert count == 0, model.__name__
        ids = session.scalars(select(StreamedConversation.external_id)).all()
        assert ids == ["keep"]
    if api.settings.resolved_database_url.startswith("sqlite"):
        db = Path(api.settings.resolved_database_url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                assert marker.encode() not in path.read_bytes(), path.name
    # A later append starts afresh.
    fresh = api.append("e1", kit.messages(kit.ordinary[:1])).json()
    assert fresh["message_count"] == 1
