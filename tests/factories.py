"""The one place for the builders the tests share: personas' logins, cases (through the API
and through the case services), a town whose story is driven at given times, devices,
clocks and keys.

A builder here makes the common part; a test module keeps only what its own assertions
depend on (a case's words, a requester's numbers, a device's address) and passes it in.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from openpyxl import Workbook
from sqlalchemy.orm import Session

from tests.helpers import NANXIN, ok, ok_list
from townops.access.actor import SYSTEM, Actor
from townops.auth.service import create_api_key
from townops.cases.enums import Action
from townops.cases.models import Case
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.service import create_case, perform_action
from townops.jurisdiction.service import place
from townops.sensing.models import Device

ActorFor = Callable[[str], Actor]

# --------------------------------------------------------------------------- personas

DEMO_PASSWORD = "demo1234"  # every demo persona's (townfiles' users.yaml, with_demo_users)


def persona_token(client: httpx.Client, username: str, password: str = DEMO_PASSWORD) -> str:
    """A bearer token of ``username`` from POST /api/v1/auth/token (must succeed)."""
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def persona_headers(client: httpx.Client, username: str) -> dict[str, str]:
    """Authorization headers of the demo persona ``username``."""
    return {"Authorization": f"Bearer {persona_token(client, username)}"}


# --------------------------------------------------------------------------- cases, by API

# A hotline ticket of a leak in 南新, walked by hand (no automatic dispatch).
HOTLINE_LEAK: dict[str, Any] = {
    "content": "楼上卫生间漏水到我家天花板，已经一周了",
    "address": "高行镇南新居民区 12号楼 302室",
    "jurisdiction": NANXIN,
    "requester_phone": "13812341234",
    "kind": "hotline",
    "auto_dispatch": False,
}


def category_code(
    client: httpx.Client, headers: dict[str, str], department: str, *, working_days: bool = False
) -> str:
    """The first category (by code) of ``department``; with ``working_days``, the first whose
    deadline counts working days."""
    cats = ok_list(client.get("/api/v1/categories", headers=headers))
    return str(
        next(
            c["code"]
            for c in cats
            if c["department"] == department
            and (not working_days or "working_days" in c["deadline"])
        )
    )


def case_body(category: str, /, **fields: Any) -> dict[str, Any]:
    """The body of POST /api/v1/cases: :data:`HOTLINE_LEAK` of ``category``, with ``fields``."""
    return {"category": category, **HOTLINE_LEAK, **fields}


def post_case(
    client: httpx.Client, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """POST /api/v1/cases as ``headers``; the new case (the answer must be 201)."""
    return ok(client.post("/api/v1/cases", json=body, headers=headers), 201)


# --------------------------------------------------------------------------- cases, by service


def file_case(
    session: Session, *, actor: Actor = SYSTEM, now: datetime | None = None, **fields: Any
) -> Case:
    """A case made by the case engine's ``create_case`` from ``CaseCreate(**fields)``."""
    return create_case(session, actor=actor, data=CaseCreate(**fields), now=now)


def do_action(
    session: Session,
    case: Case,
    action: Action | str,
    *,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
    **body: Any,
) -> Case:
    """``action`` on ``case`` at its current version, through ``perform_action``."""
    return perform_action(
        session,
        actor=actor,
        case_id=case.id,
        action=Action(action),
        body=ActionInput.model_validate({"version": case.version, **body}),
        now=now,
    )


class Town:
    """Drives cases through the real case engine, as the demo personas, at given times.

    ``actor`` turns a persona's name into an Actor (the ``actor`` fixture); a persona may
    also be given as an Actor (``SYSTEM``). ``receiver`` files the cases; ``defaults`` are
    fields of every case received (``content`` is 测试工单 unless given).
    """

    def __init__(
        self,
        session: Session,
        actor: ActorFor | None = None,
        *,
        receiver: str | Actor = "dispatcher",
        **defaults: Any,
    ) -> None:
        self.session, self.actor, self.receiver = session, actor, receiver
        self.defaults: dict[str, Any] = {"content": "测试工单", **defaults}

    def persona(self, who: str | Actor) -> Actor:
        if isinstance(who, Actor):
            return who
        assert self.actor is not None, f"a Town without the actor fixture cannot act as {who}"
        return self.actor(who)

    def receive(self, category: str, where: str | None, when: datetime, **fields: Any) -> Case:
        """A case of ``category`` at ``where`` (a jurisdiction), received (and filed) at
        ``when``."""
        return file_case(
            self.session,
            actor=self.persona(self.receiver),
            now=when,
            **{
                **self.defaults,
                "category": category,
                "jurisdiction": where,
                "received_at": when,
                **fields,
            },
        )

    def act(
        self, case: Case, who: str | Actor, action: Action | str, when: datetime, **body: Any
    ) -> Case:
        return do_action(self.session, case, action, actor=self.persona(who), now=when, **body)


# --------------------------------------------------------------------------- devices


def add_device(
    session: Session,
    device_id: str,
    device_type: str,
    code: str = NANXIN,
    *,
    household: bool = False,
    **fields: Any,
) -> Device:
    """A registered device placed at ``code`` (flushed). In a home (``household``) it has a
    household's name and phone and a flat's address; ``fields`` set any other column."""
    info = place(session, code)
    columns: dict[str, Any] = {
        "address": "高行家园5号楼" if household else "东沟路1号",
        "household_name": "张阿婆" if household else "",
        "household_phone": "13912345678" if household else "",
        **fields,
    }
    device = Device(
        device_id=device_id,
        type=device_type,
        jurisdiction_code=info.code,
        jurisdiction_path=info.path,
        community_code=info.community_code,
        **columns,
    )
    session.add(device)
    session.flush()
    return device


def reading_payload(
    seq: int, *, ahead: timedelta = timedelta(minutes=-5), **values: float
) -> dict[str, Any]:
    """A device's reading as POSTed to /api/v1/devices/{id}/readings: dated ``ahead`` of the
    wall clock (five minutes ago unless said), plus ``seq`` seconds."""
    ts = datetime.now(UTC) + ahead + timedelta(seconds=seq)
    return {"seq": seq, "ts": ts.isoformat(), "values": values}


# --------------------------------------------------------------------------- files


def write_csv(
    path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    """``rows`` (the header first, if any) as a CSV file in ``encoding``."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    """``rows`` (the header first, if any) as the first sheet of a workbook."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


# --------------------------------------------------------------------------- the rest


class FakeClock:
    """A monotonic clock the test moves by hand (``clock.now += 61``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_api_key(session: Session, name: str) -> str:
    """An Open311 client's API key (committed: the API's own session must see it)."""
    key = create_api_key(session, name=name)
    session.commit()
    return key


def marker() -> str:
    """A word no other test writes. Letters only: a run of digits in a text reads as a phone
    number and is masked."""
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:8])
