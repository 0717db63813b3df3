"""The case engine at 1,000,000 cases: KPI query, open-case list page 1, overdue sweep.

    python bench/scale.py [--cases 1000000] [--backend sqlite|postgres|both]

Cases are bulk-inserted (not through the service layer: this measures reads and the sweep,
not creation; creation is bench/lifecycle.py) with a realistic 2022 mix: 85 % closed,
15 % open, one dispatch event per case and a return event for 3 %.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import backend_urls, fresh_engine, ms, timed

from townops.auth.models import User
from townops.auth.service import actor_for
from townops.cases.enums import OPEN_STATES
from townops.cases.models import Case, CaseEvent
from townops.cases.service import CaseFilters, list_cases_for
from townops.cases.sweeps import sweep_overdue
from townops.categories.models import Category
from townops.jurisdiction.models import Jurisdiction
from townops.kpi.service import Grouping, compute_kpis, year_period
from townops.periods import Period, month_period

YEAR_START = datetime(2021, 12, 31, 16, tzinfo=UTC)  # 2022-01-01 00:00 Asia/Shanghai
OPEN = [s.value for s in OPEN_STATES]


def _case_rows(
    rng: random.Random, start_id: int, count: int, cats: list[Category], places: list[Jurisdiction]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cases, events = [], []
    for i in range(start_id, start_id + count):
        cat = rng.choice(cats)
        place = rng.choice(places)
        received = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
        due = received + timedelta(days=7)
        closed = rng.random() < 0.85
        resolved = received + timedelta(hours=rng.uniform(2, 150))
        rating = rng.choices(
            ["satisfied", "basically_satisfied", "dissatisfied", None], [80, 12, 4, 4]
        )[0]
        community = place.path.strip("/").split("/")[1]
        cases.append(
            {
                "id": i,
                "kind": "hotline",
                "source": "bench",
                "external_id": None,
                "token": f"B{i:09d}",
                "category_code": cat.code,
                "content": "基准测试",
                "address": "",
                "jurisdiction_code": place.code,
                "jurisdiction_path": place.path,
                "community_code": community,
                "department_code": cat.department_code,
                "requester_name": "",
                "requester_phone": "13800000000",
                "requester_id_number": "",
                "state": "closed" if closed else rng.choice(["dispatched", "accepted", "received"]),
                "version": 5,
                "urgency": "normal",
                "received_at": received,
                "due_at": due,
                "original_due_at": due,
                "open_due_at": None if closed else due,
                "sweep_due_at": None if closed else due,
                "dispatched_at": received + timedelta(minutes=30),
                "resolved_at": resolved if closed else None,
                "closed_at": resolved + timedelta(hours=20) if closed else None,
                "breached": closed and resolved > due,
                "rating": rating if closed else None,
                "handling_working_hours": (resolved - received).total_seconds() / 3600 * 0.7
                if closed
                else None,
                "return_count": 1 if rng.random() < 0.03 else 0,
                "reopen_count": 1 if closed and rating == "dissatisfied" else 0,
                "extension_count": 0,
                "supervision_count": 0,
                "callback_count": 1 if closed and rating else 0,
                "created_at": received,
                "updated_at": received,
            }
        )
        events.append(
            {
                "case_id": i,
                "action": "dispatch",
                "from_state": "received",
                "to_state": "dispatched",
                "at": received + timedelta(minutes=30),
                "actor_name": "dispatcher",
                "actor_role": "dispatcher",
                "department_code": cat.department_code,
                "comment": "",
                "data": {},
            }
        )
        if cases[-1]["return_count"]:
            events.append({**events[-1], "action": "return", "to_state": "returned"})
    return cases, events


def populate(engine: Engine, n: int, chunk: int = 20_000) -> float:
    rng = random.Random(1)
    with Session(engine) as s:
        cats = list(s.scalars(select(Category)))
        places = list(s.scalars(select(Jurisdiction).where(Jurisdiction.level == "micro_grid")))
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for start in range(1, n + 1, chunk):
            cases, events = _case_rows(rng, start, min(chunk, n - start + 1), cats, places)
            conn.execute(insert(Case), cases)
            conn.execute(insert(CaseEvent), events)
            print(f"\r  inserted {start + len(cases) - 1:,} cases", end="", file=sys.stderr)
    print(file=sys.stderr)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE cases"))
            conn.execute(text("VACUUM ANALYZE case_events"))
            max_id = conn.scalar(select(func.max(Case.id)))
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('cases','id'), {max_id})"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def bench_reads(engine: Engine) -> None:
    now = datetime(2023, 1, 10, tzinfo=UTC)
    with Session(engine) as s:
        users = {u.username: actor_for(s, u) for u in s.scalars(select(User))}
        periods = (("year 2022", year_period(2022)), ("2022-06", month_period(2022, 6)))
        for label, period in periods:
            for by in (Grouping.department, Grouping.community, Grouping.town):

                def kpi(by: Grouping = by, period: Period = period) -> None:
                    compute_kpis(s, by=by, period=period, now=now)

                best, med = timed(kpi)
                print(f"  KPI {label:9s} by {by.value:10s}: best {ms(best)}, median {ms(med)}")
        for who, filters in [
            ("duty", CaseFilters(open=True, department="housing_office", order="due_at")),
            ("duty", CaseFilters(overdue=True, order="due_at")),
            ("duty", CaseFilters(state=["received", "returned"], order="-received_at")),
            ("housing", CaseFilters(open=True, order="due_at")),
            ("nanxin", CaseFilters(open=True, order="due_at")),
        ]:

            def page1(who: str = who, filters: CaseFilters = filters) -> None:
                rows, _more, _ = list_cases_for(
                    s, actor=users[who], filters=filters, page=1, page_size=50, now=now
                )
                assert rows

            best, med = timed(page1)
            shown = {k: v for k, v in filters.__dict__.items() if v}
            print(f"  open-case list page 1 as {who:8s} {shown}: best {ms(best)}, median {ms(med)}")


def _open_everything(engine: Engine) -> None:
    """Make every case open (accepted) with its deadline not yet swept."""
    with engine.begin() as conn:
        conn.execute(
            update(Case).values(
                state="accepted",
                overdue_marked_at=None,
                breached=False,
                closed_at=None,
                open_due_at=Case.due_at,
                sweep_due_at=Case.due_at,
            )
        )


def _sweep(engine: Engine, now: datetime) -> tuple[int, float]:
    t0 = time.perf_counter()
    with Session(engine) as s:
        marked = sweep_overdue(s, now=now)
        s.commit()
    return marked, time.perf_counter() - t0


def bench_sweep(engine: Engine, n: int) -> None:
    """Steady state: 1,000,000 open cases, a sweep finds the newly overdue ones (1 % of
    them here, about 3.6 days of deadlines); then the worst case, all the rest at once."""
    _open_everything(engine)
    with Session(engine) as s:
        first, last = s.execute(select(func.min(Case.due_at), func.max(Case.due_at))).one()
    span = last - first
    marked, took = _sweep(engine, first - timedelta(seconds=1))
    print(f"  overdue sweep, {n:,} open, none due: {marked} marked in {ms(took)}")
    for share in (0.01, 0.02):
        marked, took = _sweep(engine, first + span * share)
        print(f"  overdue sweep, {n:,} open, next 1 % due: {marked:,} marked in {took:.2f} s")
    marked, took = _sweep(engine, last + timedelta(days=1))
    print(
        f"  overdue sweep, {n:,} open, all the rest due at once: {marked:,} marked in {took:.2f} s"
    )
    marked, took = _sweep(engine, last + timedelta(days=2))
    print(f"  overdue sweep again, nothing new: {marked} marked in {ms(took)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    backends = backend_urls(args.backend, "townops-scale-")
    for name in backends:
        print(f"{name}: {args.cases:,} cases")
        engine = fresh_engine(backends[name])
        print(f"  bulk insert: {populate(engine, args.cases):.1f} s")
        bench_reads(engine)
        bench_sweep(engine, args.cases)
        engine.dispose()


if __name__ == "__main__":
    main()
