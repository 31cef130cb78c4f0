"""The review queue and reviewers' decisions."""

from __future__ import annotations

from typing import Any


def _alert(api: Any, kit: Any, cid: str) -> str:
    review = api.append(cid, kit.messages(kit.grooming)).json()["review"]
    assert review
    return str(review)


def test_queue_decision_and_listing(api: Any, kit: Any) -> None:
    first, second = _alert(api, kit, "r1"), _alert(api, kit, "r2")
    api.append("calm", kit.messages(kit.ordinary), tenant="calm")
    queue = api.client.get("/v1/reviews", headers=api.auth()).json()
    assert [r["id"] for r in queue["data"]] == [first, second]
    item = queue["data"][0]
    assert item["conversation"] == "r1"
    assert item["status"] == "pending"
    assert item["suspect"] == "adult1"
    assert "secrecy" in item["tactics"] or item["tactics"]
    assert item["decided_at"] is None

    page = api.client.get("/v1/reviews", params={"limit": 1}, headers=api.auth()).json()
    assert [r["id"] for r in page["data"]] == [first]
    nxt = api.client.get(
        "/v1/reviews", params={"limit": 1, "after": first}, headers=api.auth()
    ).json()
    assert [r["id"] for r in nxt["data"]] == [second]

    decided = api.client.post(
        f"/v1/reviews/{first}/decision",
        json={"decision": "confirmed", "note": "escalated to the safety team", "reviewer": "rv7"},
        headers=api.auth(),
    )
    assert decided.status_code == 200
    d = decided.json()
    assert (d["status"], d["note"], d["reviewer"]) == (
        "confirmed",
        "escalated to the safety team",
        "rv7",
    )
    assert d["decided_at"] is not None
    again = api.client.post(
        f"/v1/reviews/{first}/decision", json={"decision": "dismissed"}, headers=api.auth()
    )
    assert again.status_code == 409
    assert api.client.get(f"/v1/reviews/{first}", headers=api.auth()).json()["status"] == (
        "confirmed"
    )
    pending = api.client.get("/v1/reviews", headers=api.auth()).json()["data"]
    assert [r["id"] for r in pending] == [second]
    confirmed = api.client.get(
        "/v1/reviews", params={"status": "confirmed"}, headers=api.auth()
    ).json()["data"]
    assert [r["id"] for r in confirmed] == [first]
    state = api.client.get("/v1/conversations/r1", headers=api.auth()).json()
    assert state["review"] == {"id": first, "status": "confirmed"}


def test_decision_validation_and_unknown_ids(api: Any, kit: Any) -> None:
    review = _alert(api, kit, "r3")
    url = f"/v1/reviews/{review}/decision"
    r = api.client.post(url, json={"decision": "ban"}, headers=api.auth())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "decision"]
    r = api.client.post(url, json={"decision": "dismissed", "note": "x" * 5001}, headers=api.auth())
    assert r.json()["detail"][0]["loc"] == ["body", "note"]
    unknown = "f" * 32
    r = api.client.post(
        f"/v1/reviews/{unknown}/decision", json={"decision": "dismissed"}, headers=api.auth()
    )
    assert r.status_code == 404
    r = api.client.get("/v1/reviews/not-an-id", headers=api.auth())
    assert r.status_code == 422
    r = api.client.get("/v1/reviews", params={"status": "open"}, headers=api.auth())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "status"]
