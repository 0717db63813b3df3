"""Incidents the living demo injects and announces (注入事件).

A real town of Gaohang's size sees a few device alarms a day, so the served demo's
simulator raises alarm episodes at that rate (``--alarms-per-hour``, default 0.15). A
visitor would then wait hours to see the alarm console (告警台) do anything, so the demo
also injects an incident now and then (``--incident-minutes``): a gas leak in an elderly
person's home, smoke in a stairwell, a tilted manhole cover, in turn, each at a device
picked at random. It starts the episode on the running simulator (the device reports at
once) and prints what it did and where, so a visitor knows what to look for::

    注入事件 injected: 燃气泄漏 gas leak at 南新居委会 · 南新新村3号楼 — device JA-GAS-00123

The alarm, its case and its place on the console follow within seconds, through MQTT and
the ingester like any reading.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.jurisdiction.models import Jurisdiction
from townops.sensing.models import Device


@dataclass(frozen=True)
class IncidentKind:
    """What is injected at which kind of device, and how the announcement names it."""

    device_type: str
    words: str
    in_home: bool | None = None  # True: only devices with a household on record


#: The incidents in the order they are injected (round robin).
INCIDENTS: tuple[IncidentKind, ...] = (
    IncidentKind("gas_alarm", "燃气泄漏 gas leak", in_home=True),
    IncidentKind("smoke_detector", "烟雾报警 smoke"),
    IncidentKind("manhole_cover_sensor", "井盖倾斜 manhole cover tilted"),
)


class Injector(Protocol):
    """The running simulator (``SimulatorHandle.inject``)."""

    def inject(self, device_id: str) -> str | None: ...


@dataclass(frozen=True)
class Incident:
    kind: IncidentKind
    device_id: str
    place: str

    def announcement(self) -> str:
        return f"注入事件 injected: {self.kind.words} at {self.place} — device {self.device_id}"


def _candidates(session: Session, kind: IncidentKind) -> list[tuple[str, str, str, str | None]]:
    stmt = select(
        Device.device_id, Device.building, Device.address, Jurisdiction.name_zh
    ).outerjoin(Jurisdiction, Jurisdiction.code == Device.community_code)
    stmt = stmt.where(Device.type == kind.device_type, Device.active.is_(True))
    if kind.in_home:
        stmt = stmt.where(Device.household_phone != "")
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(stmt.order_by(Device.device_id))]


def pick_incident(session: Session, kind: IncidentKind, rng: random.Random) -> Incident | None:
    """A device of the kind, at random, with its place in words; None when the town has
    no such device."""
    rows = _candidates(session, kind)
    if not rows:
        return None
    device_id, building, address, community = rng.choice(rows)
    place = " · ".join(part for part in (community, building or address) if part) or "—"
    return Incident(kind, device_id, place)


def inject_next(
    sessions: Callable[[], Session],
    injector: Injector,
    rng: random.Random,
    turn: int,
    kinds: Sequence[IncidentKind] = INCIDENTS,
) -> Incident | None:
    """Inject the incident of this turn (round robin over ``kinds``, skipping a kind the
    town has no device for); returns it, or None when nothing could be injected."""
    with sessions() as session:
        for step in range(len(kinds)):
            incident = pick_incident(session, kinds[(turn + step) % len(kinds)], rng)
            if incident is not None and injector.inject(incident.device_id):
                return incident
    return None


class IncidentThread(threading.Thread):
    """Injects an incident ``first_after`` seconds after it starts, then every
    ``every_seconds``, announcing each; :meth:`stop` ends it."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        injector: Injector,
        *,
        every_seconds: float,
        first_after: float = 60.0,
        announce: Callable[[str], None] = print,
        seed: int | None = None,
    ) -> None:
        super().__init__(name="townops-demo-incidents", daemon=True)
        self.sessions = sessions
        self.injector = injector
        self.every_seconds = every_seconds
        self.first_after = first_after
        self.announce = announce
        self.rng = random.Random(seed)
        self.injected: list[Incident] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        wait, turn = self.first_after, 0
        while not self._stopping.wait(wait):
            try:
                incident = inject_next(self.sessions, self.injector, self.rng, turn)
            except Exception as exc:  # a demo nicety: never take the server down
                self.announce(f"注入事件 injection failed: {exc}")
                incident = None
            if incident is not None:
                self.injected.append(incident)
                self.announce(incident.announcement())
            wait, turn = self.every_seconds, turn + 1

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)
