"""Every role × every GET route × an object inside and outside its scope: no leaks.

The routes come from the app's own OpenAPI, so a new route is in the matrix the day it is
added. Each persona of the demo town (and an anonymous caller) reads every route, with
path parameters filled with a case of 南新 held by the housing office and a case of 东沟
held by urban management, an in-home gas alarm and its household. The test fails on:

- a server error;
- a case's secret marker in any answer to a persona that cannot open that case (a
  scope leak through a list, an export, a feed or a figure);
- a requester's or household's number, whatever its separators, in any answer to a
  persona whose contact view of it is masked (``roles.yaml`` and the unit in charge);
- an exact room address for a persona whose view is masked.

Workbooks are opened and their text read too. The live feed (SSE) is a stream and is
covered by its own tests (it filters with the same ``visible_cases``/``visible_alarms``).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import category_code, post_case
from tests.helpers import NANXIN, act, ok
from tests.sensing.test_sensing_pipeline import add_device
from townops.auth.models import User
from townops.categories.models import Category

Login = Callable[[str], dict[str, str]]
DONGGOU = "310115121001"  # 东沟一居委会

A_MARK, B_MARK = "南新密A", "东沟密B"
A_PHONE, A_TEXT_PHONE = "13900001111", "139-0000-2222"
B_PHONE, B_TEXT_PHONE = "13900003333", "139 0000 4444"
HOUSEHOLD_PHONE = "13900005555"
A_ROOM = "华高庭园4号楼503室"

# Who sees each number unmasked: roles.yaml's sees_full_phone, and for a department's
# handler only on what its department holds.
# The operations centre's duty officers (the roster's three) and dispatcher see numbers.
OPERATIONS = {"duty", "duty_b", "duty_c", "dispatcher"}
FULL_A = OPERATIONS | {"housing"}
FULL_B = OPERATIONS | {"urban"}
FULL_HOUSEHOLD = OPERATIONS
SKIPPED = {"/api/v1/live"}  # a stream


def _number(text: str) -> re.Pattern[str]:
    digits = re.sub(r"\D", "", text)
    return re.compile(r"[\s\-]?".join(digits))


@pytest.fixture
def world(client: TestClient, login: Login, session: Session) -> dict[str, Any]:
    def case(
        jurisdiction: str, department: str, mark: str, phone: str, text_phone: str, address: str
    ) -> dict[str, Any]:
        body = {
            "category": category_code(client, login("duty"), department),
            "content": f"{mark} 楼道堆物，请回电 {text_phone}",
            "jurisdiction": jurisdiction,
            "address": address,
            "requester_name": "王某某",
            "requester_phone": phone,
            "auto_dispatch": False,
        }
        made = post_case(client, login("dispatcher"), body)
        return ok(act(client, login("dispatcher"), made, "dispatch", department=department))

    a = case(NANXIN, "housing_office", A_MARK, A_PHONE, A_TEXT_PHONE, f"高行镇{A_ROOM}")
    b = case(DONGGOU, "urban_management", B_MARK, B_PHONE, B_TEXT_PHONE, "东沟路1号")
    device = add_device(session, "MATRIX-GAS-1", "gas_alarm", household=True)
    device.household_phone = HOUSEHOLD_PHONE
    session.commit()
    service = session.scalars(select(Category.code).where(Category.opened_by != "townops")).first()
    return {"a": a, "b": b, "device": device.device_id, "service": service}


def _get_routes(client: TestClient) -> list[str]:
    app = client.app
    assert isinstance(app, FastAPI)
    paths = app.openapi()["paths"]
    return sorted(p for p, ops in paths.items() if "get" in ops and p not in SKIPPED)


def _fill(path: str, world: dict[str, Any]) -> Iterator[str]:
    """The route with its path parameters filled, once per object of interest."""
    values: dict[str, list[str]] = {
        "case_id": [str(world["a"]["id"]), str(world["b"]["id"])],
        "service_request_id": [str(world["a"]["id"]), str(world["b"]["id"])],
        "token": [world["a"]["token"], world["b"]["token"]],
        "code": [world["a"]["token"], world["b"]["token"]],
        "device_id": [world["device"]],
        "alarm_id": ["1"],
        "issue_id": ["1"],
        "photo_id": ["1"],
        "variant": ["full"],
        "level": ["community"],
        "fmt": ["json"],
        "service_code": [world["service"] or "x"],
    }
    names = re.findall(r"{(\w+)}", path)
    if not names:
        yield path
        return
    for i in range(max(len(values.get(n, ["1"])) for n in names)):
        filled = path
        for name in names:
            options = values.get(name, ["1"])
            filled = filled.replace("{" + name + "}", options[min(i, len(options) - 1)])
        yield filled


def _text(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind or response.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return "".join(
                book.read(n).decode("utf-8", "replace")
                for n in book.namelist()
                if n.endswith(".xml")
            )
    return response.content.decode("utf-8", "replace")


def test_no_route_leaks_another_scope_or_an_unmasked_number(
    client: TestClient, login: Login, session: Session, world: dict[str, Any]
) -> None:
    personas: list[str | None] = [
        *session.scalars(select(User.username).order_by(User.username)),
        None,
    ]
    routes = _get_routes(client)
    a_id, b_id = world["a"]["id"], world["b"]["id"]
    numbers = {
        "a": [_number(A_PHONE), _number(A_TEXT_PHONE)],
        "b": [_number(B_PHONE), _number(B_TEXT_PHONE)],
        "household": [_number(HOUSEHOLD_PHONE)],
    }
    problems: list[str] = []
    calls = 0
    for persona in personas:
        headers = login(persona) if persona else {}
        sees = {
            key: persona is not None
            and client.get(f"/api/v1/cases/{cid}", headers=headers).status_code == 200
            for key, cid in (("a", a_id), ("b", b_id))
        }
        full = {
            "a": persona in FULL_A,
            "b": persona in FULL_B,
            "household": persona in FULL_HOUSEHOLD,
        }
        for route in routes:
            for url in _fill(route, world):
                r = client.get(url, headers=headers)
                calls += 1
                who = persona or "anonymous"
                if r.status_code >= 500:
                    problems.append(f"{who} GET {url}: {r.status_code}")
                    continue
                body = _text(r)
                for key, mark in (("a", A_MARK), ("b", B_MARK)):
                    if mark in body and not sees[key]:
                        problems.append(f"{who} GET {url}: case {key.upper()} leaks out of scope")
                for key, patterns in numbers.items():
                    if full[key]:
                        continue
                    if any(p.search(body) for p in patterns):
                        problems.append(f"{who} GET {url}: {key}'s number unmasked")
                if A_ROOM in body and not full["a"]:
                    problems.append(f"{who} GET {url}: case A's exact address unmasked")
    assert not problems, "\n".join(problems)
    # The matrix really ran: every persona over every route.
    assert calls >= len(personas) * len(routes)
    assert len(personas) >= 17 and len(routes) >= 40
