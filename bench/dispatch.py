"""End-to-end automatic dispatch: per-case latency (p50, p99) and what was decided.

    python bench/dispatch.py [--n 1000] [--backend sqlite|postgres|both] [--with-point]

Each request is a 12345 ticket from the demo's generator (``townops.demo.scenario``) with
its category, jurisdiction and coordinates REMOVED: the pipeline must read the category
from the text (classifier + keywords), find the place in the address (gazetteer), look for
a repeat, match the rules, and dispatch or queue — then commit. Latency is wall-clock per
request, one at a time, including the commit. ``--with-point`` keeps the coordinates
(the place then comes from point-in-polygon).

The agreement figures compare the decision with the category and department the generator
drew the ticket for. The generator's texts are the demo's own templates, so this is a
check of the pipeline's plumbing, not of the classifier: the classifier's honest figure is
its held-out macro-F1 on real messages (bench/classify.py).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import backend_urls, fresh_engine

from townops import domains
from townops.auth.models import User
from townops.auth.service import actor_for
from townops.cases.schemas import CaseCreate
from townops.categories.service import all_categories
from townops.demo.scenario import Node, build_place_book, case_input, draw_arrivals
from townops.demo.year import DemoYear
from townops.dispatch.models import RoutingDecision
from townops.dispatch.service import default_scorer, receive_case
from townops.jurisdiction.models import Jurisdiction
from townops.towns.profile import get_profile


def _requests(
    session: Session, n: int, *, with_point: bool, seed: int = 7
) -> list[tuple[CaseCreate, str, str]]:
    rng = random.Random(seed)
    profile = get_profile(session)
    categories = all_categories(session)
    nodes = [
        Node(j.code, j.name_zh, j.level, j.parent_code, j.aliases, j.geometry)
        for j in session.scalars(select(Jurisdiction))
    ]
    book = build_place_book(nodes)
    out = []
    for serial, arrival in enumerate(
        draw_arrivals(rng, n, list(categories), profile.calendar, DemoYear.calendar_year(2022)),
        start=1,
    ):
        data = case_input(rng, arrival, book.draw(rng), serial)
        keep = {"lat": data.lat, "lon": data.lon} if with_point else {"lat": None, "lon": None}
        data = data.model_copy(
            update={
                "category": None,
                "jurisdiction": None,
                "received_at": None,
                **keep,
                "external_id": f"BENCH{serial:06d}",
            }
        )
        out.append((data, arrival.category, categories[arrival.category].department_code))
    return out


def run(url: str, n: int, *, with_point: bool) -> None:
    engine = fresh_engine(url)
    with Session(engine) as session:
        requests = _requests(session, n, with_point=with_point)
        user = session.scalars(select(User).where(User.username == "dispatcher")).one()
        actor = actor_for(session, user)
    default_scorer()  # load the model before timing
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    same_category = same_department = dispatched = 0
    for data, true_category, true_department in requests:
        with Session(engine) as session:
            t0 = time.perf_counter()
            case = receive_case(session, actor=actor, data=data)
            session.commit()
            latencies.append(time.perf_counter() - t0)
            decision = session.get(RoutingDecision, case.id)
            assert decision is not None
            outcomes[decision.outcome] += 1
            if decision.outcome == "queued":
                reasons[re.sub(r"\d+\.\d+", "x", decision.reason)] += 1
            same_category += case.category_code == true_category
            if decision.outcome == "dispatched":
                dispatched += 1
                same_department += case.department_code == true_department
    latencies.sort()

    def p(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    print(f"  {n} requests, place from {'point' if with_point else 'address text'}")
    print(
        f"  latency per request (read+place+repeat+route+dispatch+commit): "
        f"p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.1f} ms"
    )
    print("  outcomes: " + ", ".join(f"{k} {v} ({v / n:.1%})" for k, v in outcomes.most_common()))
    for reason, count in reasons.most_common(5):
        print(f"    queued: {reason}: {count}")
    print(f"  category read = generator's category: {same_category / n:.1%}")
    if dispatched:
        print(
            f"  dispatched to the generator's category department: "
            f"{same_department / dispatched:.1%} of {dispatched} (rules may route elsewhere)"
        )
    engine.dispose()


def main() -> None:
    domains.install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--with-point", action="store_true")
    args = parser.parse_args()
    for name, url in backend_urls(args.backend, "townops-bench-dispatch-").items():
        print(f"== {name}")
        run(url, args.n, with_point=args.with_point)


if __name__ == "__main__":
    main()
