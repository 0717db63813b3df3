"""How many vital signs carry a judgement (green/yellow/red) on the demo year, and why not.

    townops demo --no-serve --db /tmp/signs.db                  # once (about 3 minutes)
    python bench/signs_judged.py --database-url sqlite:////tmp/signs.db [--period 2026-11 ...]

Without ``--period`` it counts the town's signs for the last complete month and for this
year (Asia/Shanghai). For each period: the counts by status, then every unjudged sign with
its reason (``unjudged`` code and words, when the engine gives one).
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from townops import domains
from townops.db import make_engine
from townops.settings import get_settings
from townops.signs.service import compute_signs
from townops.signs.values import SignValue

SHANGHAI = ZoneInfo("Asia/Shanghai")


def default_periods(now: datetime) -> list[str]:
    """The last complete month and the year of ``now``."""
    last_month = now.date().replace(day=1) - timedelta(days=1)
    return [f"{last_month:%Y-%m}", f"{now.year}"]


def reason_of(value: SignValue) -> str:
    # Older engines carry no reason: say so rather than fail, so "before" can be counted.
    code = getattr(value, "unjudged", None)
    if code is None:
        return "(no reason given)"
    return f"{code}: {getattr(value, 'unjudged_en', '')} / {getattr(value, 'unjudged_zh', '')}"


def report(session: Session, period: str, *, list_unjudged: bool) -> None:
    values = compute_signs(session, jurisdiction=None, period=period)
    statuses = Counter(v.status for v in values)
    judged = len(values) - statuses["none"]
    bases = Counter(getattr(v, "basis", "?") for v in values if v.status != "none")
    print(
        f"{period}: {judged} of {len(values)} judged — green {statuses['green']}, "
        f"yellow {statuses['yellow']}, red {statuses['red']}, none {statuses['none']}"
        f"  (judged by basis: {dict(sorted(bases.items()))})"
    )
    if list_unjudged:
        reasons = Counter(getattr(v, "unjudged", None) for v in values if v.status == "none")
        print(f"  unjudged by reason: {dict(sorted((str(k), n) for k, n in reasons.items()))}")
        for value in values:
            if value.status == "none":
                print(f"  - {value.id} ({value.name_zh}): {reason_of(value)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--period", action="append", help="repeatable; default: see above")
    parser.add_argument("--quiet", action="store_true", help="counts only, no list")
    args = parser.parse_args()
    domains.install()  # the case kinds the definitions name (iot_alarm …)
    engine = make_engine(args.database_url or get_settings().database_url)
    periods = args.period or default_periods(datetime.now(SHANGHAI))
    with Session(engine) as session:
        for period in periods:
            report(session, period, list_unjudged=not args.quiet)


if __name__ == "__main__":
    main()
