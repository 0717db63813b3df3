"""How long the monthly assessment and the risk map take on the demo year.

    townops demo --no-serve --year 2022 --db /tmp/demo.db
    python bench/assessment_risk.py --database-url sqlite:////tmp/demo.db [--alarms 20000]

Times (best and median of ``--repeat`` runs) of: the assessment of ``--month`` for the
departments and for the communities (each also scores the month before), the workbook
with both, and the risk map at both levels. The demo registers its 5,463 devices but
simulates no readings; ``--alarms N`` adds N alarms over the year's last 60 days and a
device state for every device (one in ten silent), inside a transaction that is rolled
back, so the sensing factors are measured on full tables too.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from functools import partial

from _common import ms, timed
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.assessment.export import xlsx_bytes
from townops.assessment.service import AssessmentOf, assess
from townops.cases.models import Case
from townops.db import make_engine
from townops.risk.service import risk_map
from townops.sensing.models import Alarm, Device, DeviceState
from townops.settings import get_settings

# The end of the demo year (local midnight of 1 January 2023, in UTC).
YEAR_END = datetime(2022, 12, 31, 16, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--month", default="2022-06")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--alarms", type=int, default=0, help="synthetic alarms to add")
    args = parser.parse_args()
    url = args.database_url or get_settings().database_url
    engine = make_engine(url)
    with Session(engine) as session:
        cases = session.query(Case).count()
        print(f"database: {url} ({engine.dialect.name}), {cases:,} cases")
        if args.alarms:
            added = add_sensing_data(session, args.alarms)
            print(f"added (rolled back at the end): {added}")
        now = YEAR_END
        for of in AssessmentOf:
            best, median = timed(
                partial(assess, session, month=args.month, of=of, now=now), args.repeat
            )
            print(f"assessment {args.month} {of.value:<12} best {ms(best)}, median {ms(median)}")

        def workbook() -> bytes:
            return xlsx_bytes(
                [assess(session, month=args.month, of=of, now=now) for of in AssessmentOf]
            )

        best, median = timed(workbook, args.repeat)
        print(f"assessment {args.month} workbook     best {ms(best)}, median {ms(median)}")
        for level in ("micro_grid", "community"):
            nodes = len(risk_map(session, level=level, at=YEAR_END).nodes)
            best, median = timed(partial(risk_map, session, level=level, at=YEAR_END), args.repeat)
            print(f"risk map {level:<10} ({nodes} nodes) best {ms(best)}, median {ms(median)}")
        session.rollback()


def add_sensing_data(session: Session, alarms: int) -> str:
    """Alarms over the last 60 days of the year and a state per device, seeded."""
    rng = random.Random(7)
    devices = session.execute(
        select(Device.device_id, Device.type, Device.jurisdiction_path, Device.community_code)
    ).all()
    for device_id, *_ in devices:
        silent = rng.random() < 0.1
        seen = YEAR_END - timedelta(days=3 if silent else 0, seconds=rng.randint(1, 60))
        session.add(DeviceState(device_id=device_id, last_seq=1, last_ts=seen, last_seen=seen))
    severities = ("info", "warning", "critical")
    states = ("cleared", "cleared", "false_alarm", "raised")
    for index in range(alarms):
        device_id, kind, path, community = rng.choice(devices)
        raised = YEAR_END - timedelta(seconds=rng.randint(60, 60 * 86400))
        state = rng.choice(states)
        session.add(
            Alarm(
                device_id=device_id,
                rule_id=f"bench{index}",
                kind=rng.choice(("threshold", "held", "offline")),
                severity=rng.choice(severities),
                state=state,
                device_type=kind,
                storm_key=device_id,
                raised_at=raised,
                jurisdiction_path=path,
                community_code=community,
            )
        )
    session.flush()
    return f"{alarms:,} alarms, {len(devices):,} device states"


if __name__ == "__main__":
    main()
