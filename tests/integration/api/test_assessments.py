"""POST /v1/assessments: the scan contract for one conversation, stateless."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from groomwatch.server.models import StreamedConversation


def test_grooming_warns_with_evidence_and_steps(api: Any, kit: Any, alert_index: int) -> None:
    conv = {
        "id": "a1",
        "participants": [{"id": "kid1", "role": "child", "age": 13}],
        "messages": kit.messages(kit.grooming),
    }
    r = api.client.post("/v1/assessments", json={"conversation": conv}, headers=api.auth())
    assert r.status_code == 200
    body = r.json()
    assert {"id", "risk", "flagged", "first_alert", "suspect", "tactics", "policy", "steps"} <= set(
        body
    )
    assert body["id"] == "a1"
    threshold = api_threshold(api)
    assert body["policy"]["threshold"] == threshold
    if abs(body["risk"] - threshold) > 1e-3:  # the answer's risk is rounded to 4 places
        assert body["flagged"] is (body["risk"] >= threshold)
    assert body["first_alert"] == alert_index
    assert body["suspect"] in ("adult1", "kid1")
    assert {"secrecy", "meeting"} <= {t["tactic"] for t in body["tactics"]}
    assert body["steps"]

    streamed = api.append("a1", kit.messages(kit.grooming)).json()
    assert streamed["first_alert"] == body["first_alert"]


def api_threshold(api: Any) -> float:
    from groomwatch.server.tenants import get_tenant_by_name

    with api.session_factory() as session:
        threshold = get_tenant_by_name(session, "acme").threshold
    assert threshold is not None
    return float(threshold)


def test_under_an_unreached_threshold_nothing_is_flagged_or_stored(api: Any, kit: Any) -> None:
    conv = {"id": "a2", "messages": kit.messages(kit.ordinary)}
    body = api.client.post("/v1/assessments", json={"conversation": conv}, headers=api.auth("calm"))
    assert body.json()["flagged"] is False
    assert body.json()["steps"] == []
    with api.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(StreamedConversation)) == 0


def test_invalid_conversation_is_422_naming_the_field(sqlite_api: Any) -> None:
    api = sqlite_api
    cases = [
        (
            {"id": "x", "messages": [{"text": "hi"}, {"text": 5}]},
            ["body", "conversation", "messages", 1, "text"],
        ),
        ({"messages": []}, ["body", "conversation", "id"]),
        (
            {"id": "x", "participants": [{"id": "p", "age": 500}]},
            ["body", "conversation", "participants", 0, "age"],
        ),
    ]
    for conv, loc in cases:
        r = api.client.post("/v1/assessments", json={"conversation": conv}, headers=api.auth())
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == loc
    r = api.client.post("/v1/assessments", json={"conversation": []}, headers=api.auth())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:2] == ["body", "conversation"]
