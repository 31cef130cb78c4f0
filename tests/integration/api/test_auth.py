"""Authentication, tenant isolation and rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from groomwatch.server.tenants import rotate_key

ENDPOINTS = [
    ("GET", "/v1/tactics", None),
    ("POST", "/v1/assessments", {"conversation": {"id": "c", "messages": []}}),
    ("POST", "/v1/conversations/c1/messages", {"messages": [{"text": "hi"}]}),
    ("GET", "/v1/conversations/c1", None),
    ("DELETE", "/v1/conversations/c1", None),
    ("GET", "/v1/reviews", None),
    ("GET", "/v1/reviews/" + "0" * 32, None),
    ("POST", "/v1/reviews/" + "0" * 32 + "/decision", {"decision": "dismissed"}),
]
BAD_AUTH = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Bearer gwk_000000000000_" + "A" * 43},
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_v1_endpoint_needs_a_valid_key(
    sqlite_api: Any, method: str, path: str, body: dict[str, Any] | None
) -> None:
    api = sqlite_api
    answers = set()
    for headers in BAD_AUTH:
        r = api.client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        answers.add(r.text)
    # The same answer whatever was wrong: nothing tells a caller which part failed.
    assert answers == {'{"detail":"missing or invalid API key"}'}


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(sqlite_api: Any) -> None:
    api = sqlite_api
    key = api.keys["acme"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    r = api.client.get("/v1/tactics", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_a_rotated_key_stops_working_and_the_new_one_works(api: Any) -> None:
    assert api.client.get("/v1/tactics", headers=api.auth()).status_code == 200
    with api.session_factory() as session:
        new = rotate_key(session, "acme").key
        session.commit()
    assert api.client.get("/v1/tactics", headers=api.auth()).status_code == 401
    r = api.client.get("/v1/tactics", headers={"Authorization": f"Bearer {new}"})
    assert r.status_code == 200


def test_tenants_never_see_each_others_conversations(api: Any, kit: Any) -> None:
    assert api.append("shared-id", kit.messages(kit.grooming)).status_code == 200
    acme = api.client.get("/v1/conversations/shared-id", headers=api.auth()).json()
    review = acme["review"]["id"]

    other = api.auth("other")
    assert api.client.get("/v1/conversations/shared-id", headers=other).status_code == 404
    assert api.client.delete("/v1/conversations/shared-id", headers=other).status_code == 404
    assert api.client.get(f"/v1/reviews/{review}", headers=other).status_code == 404
    decided = api.client.post(
        f"/v1/reviews/{review}/decision", json={"decision": "dismissed"}, headers=other
    )
    assert decided.status_code == 404
    assert api.client.get("/v1/reviews", headers=other).json()["data"] == []

    # The same id under another tenant is another conversation.
    mine = api.append("shared-id", kit.messages(kit.ordinary[:1]), tenant="other").json()
    assert mine["message_count"] == 1
    again = api.client.get("/v1/conversations/shared-id", headers=api.auth()).json()
    assert again["message_count"] == len(kit.grooming)
    assert again["review"] == {"id": review, "status": "pending"}


def test_rate_limit_answers_429_with_retry_after(sqlite_api: Any) -> None:
    api = sqlite_api
    api.set_tenant("acme", rate_limit=1.0)  # burst 2 with the default 100/s, 200 burst
    codes = [api.client.get("/v1/tactics", headers=api.auth()).status_code for _ in range(4)]
    assert codes[:2] == [200, 200]
    assert codes[2:] == [429, 429]
    r = api.client.get("/v1/tactics", headers=api.auth())
    assert int(r.headers["retry-after"]) >= 1
    # Another tenant's key has its own bucket.
    assert api.client.get("/v1/tactics", headers=api.auth("other")).status_code == 200


def test_the_key_cache_expires_so_a_rotated_key_stops_working(
    sqlite_url: str, tmp_path: Any, detector: Any, kit: Any
) -> None:
    import time

    from fastapi.testclient import TestClient

    from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
    from groomwatch.server.app import create_app

    upgrade_database(sqlite_url)
    key = kit.make_tenants(sqlite_url, ("acme",))["acme"]
    settings = kit.settings(sqlite_url, tmp_path, api_key_cache_seconds=0.5)
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings, detector=detector)) as client:
        assert client.get("/v1/tactics", headers=auth).status_code == 200
        engine = create_db_engine(sqlite_url)
        with make_session_factory(engine)() as session:
            rotate_key(session, "acme")
            session.commit()
        engine.dispose()
        time.sleep(0.6)
        assert client.get("/v1/tactics", headers=auth).status_code == 401
