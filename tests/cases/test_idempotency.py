"""``Idempotency-Key`` on ``POST /api/v1/cases``: a retried request makes one case."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.factories import persona_headers
from tests.helpers import NANXIN, ok
from tests.own_database import own_app
from townops.auth.models import IdempotencyKey
from townops.cases.idempotency import request_hash
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate

Login = Callable[[str], dict[str, str]]

RACE_DATABASE = "townops_test_idempotency"  # this file's own PostgreSQL database
BODY = {
    "category": "street_vending",
    "content": "楼道里堆满了杂物，消防通道堵了",
    "jurisdiction": NANXIN,
    "auto_dispatch": False,
}


def _keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def _count(client: TestClient, headers: dict[str, str]) -> int:
    total: int = ok(client.get("/api/v1/cases?with_total=true", headers=headers))["total"]
    return total


def test_the_same_key_and_body_answer_the_same_case_once(client: TestClient, login: Login) -> None:
    h = login("resident_a")
    before = _count(client, h)
    first = client.post("/api/v1/cases", json=BODY, headers=_keyed(h, "retry-1"))
    case = ok(first, 201)
    again = client.post("/api/v1/cases", json=BODY, headers=_keyed(h, "retry-1"))
    replay = ok(again, 200)
    assert replay["id"] == case["id"] and replay["token"] == case["token"]
    assert _count(client, h) == before + 1
    # The same body written differently (key order, a default spelled out) is the same.
    reordered = {"auto_dispatch": False, "kind": "request", **dict(reversed(BODY.items()))}
    assert (
        ok(client.post("/api/v1/cases", json=reordered, headers=_keyed(h, "retry-1")))["id"]
        == (case["id"])
    )
    # Without a key, the same body is a new case.
    assert ok(client.post("/api/v1/cases", json=BODY, headers=h), 201)["id"] != case["id"]


def test_the_same_key_with_another_body_is_a_422_naming_the_header(
    client: TestClient, login: Login
) -> None:
    h = login("resident_a")
    ok(client.post("/api/v1/cases", json=BODY, headers=_keyed(h, "k-2")), 201)
    before = _count(client, h)
    other = {**BODY, "content": "另一件事：路灯不亮"}
    r = client.post("/api/v1/cases", json=other, headers=_keyed(h, "k-2"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"] == "Idempotency-Key"
    assert _count(client, h) == before


def test_keys_belong_to_their_owner(client: TestClient, login: Login) -> None:
    a = ok(client.post("/api/v1/cases", json=BODY, headers=_keyed(login("resident_a"), "k")), 201)
    b = ok(client.post("/api/v1/cases", json=BODY, headers=_keyed(login("resident_b"), "k")), 201)
    assert a["id"] != b["id"]


@pytest.mark.parametrize("key", ["", "a" * 201, "with space", "tab\tkey"])
def test_a_malformed_key_is_a_422_naming_the_header(
    client: TestClient, login: Login, key: str
) -> None:
    headers = _keyed(login("resident_a"), key)
    r = client.post("/api/v1/cases", json=BODY, headers=headers)
    assert r.status_code == 422, r.text
    assert "Idempotency-Key" in str(r.json()["error"]), r.text


def test_the_hash_is_of_the_canonical_body() -> None:
    one = CaseCreate.model_validate(BODY)
    two = CaseCreate.model_validate({**BODY, "kind": "request", "photos": []})
    assert request_hash(one) == request_hash(two)
    assert request_hash(one) != request_hash(one.model_copy(update={"content": "x"}))
    assert len(request_hash(one)) == 64


# --- concurrent retries ------------------------------------------------------------------


@pytest.fixture
def race_app(engine: Engine, tmp_path: Path) -> Iterator[tuple[Any, Engine]]:
    with own_app(engine, tmp_path, RACE_DATABASE) as app_and_engine:
        yield app_and_engine


def test_ten_concurrent_retries_with_one_key_make_one_case(
    race_app: tuple[Any, Engine],
) -> None:
    app, own = race_app
    with TestClient(app, raise_server_exceptions=False) as client:
        h = _keyed(persona_headers(client, "resident_a"), "race-key")
        barrier = threading.Barrier(10)
        responses: list[Any] = []
        failures: list[BaseException] = []

        def run() -> None:
            try:
                barrier.wait(10)
                responses.append(client.post("/api/v1/cases", json=BODY, headers=h))
            except BaseException as exc:  # surfaced below
                failures.append(exc)

        threads = [threading.Thread(target=run) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not failures, failures
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1 and statuses[200] == 9, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    with Session(own) as check:
        assert check.scalar(select(func.count()).select_from(Case)) == 1
        assert check.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
