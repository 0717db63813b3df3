"""How long the vital signs take on the demo year: the town, every community, every grid.

    townops demo --no-serve --year 2022 --db /tmp/signs-demo.db      # once (about 2-5 minutes)
    python bench/signs.py --database-url sqlite:////tmp/signs-demo.db [--period 2022]

Each figure is the best and the median of ``--repeat`` runs in a fresh session (the
definitions and the town profile are cached per process, as in a running server). The
warnings pass is run inside a transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ms, timed

from townops.cases.models import Case
from townops.db import make_engine
from townops.settings import get_settings
from townops.signs.models import SignWarning
from townops.signs.service import compute_signs, compute_signs_by_level, signs_config
from townops.signs.warnings import raise_warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--period", default="2022")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.database_url or get_settings().database_url
    engine = make_engine(url)
    period = args.period
    with Session(engine) as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        signs = len(signs_config(session).signs)
    print(f"database: {url}  ({cases} cases, {signs} sign definitions, period {period})")

    def run(label: str, work: Callable[[Session], object]) -> None:
        def once() -> None:
            with Session(engine) as session:
                work(session)

        best, median = timed(once, repeat=args.repeat)
        print(f"{label:<46} best {ms(best):>10}  median {ms(median):>10}")

    run("town, all signs (compute_signs)", lambda s: compute_signs(s, jurisdiction=None,
        period=period))  # fmt: skip
    for level in ("community", "micro_grid"):
        run(
            f"every {level} + remainder + total (by_level)",
            partial(compute_signs_by_level, level=level, period=period),
        )
    run("one community (南新), all signs", lambda s: compute_signs(s, jurisdiction="310115121020",
        period=period))  # fmt: skip
    run("town, one month (2022-06)", lambda s: compute_signs(s, jurisdiction=None,
        period="2022-06"))  # fmt: skip
    run("town, one week (2022-W23)", lambda s: compute_signs(s, jurisdiction=None,
        period="2022-W23"))  # fmt: skip

    with Session(engine) as session:
        result = compute_signs_by_level(session, level="community", period=period)
        statuses = Counter(v.status for n in result.nodes for v in n.signs)
        print(f"community statuses for {period}: {dict(sorted(statuses.items()))}")
    with Session(engine) as session:  # never committed: closing rolls the warnings back
        best, _ = timed(lambda: raise_warnings(session, period=period), repeat=1)
        warned = session.scalar(select(func.count()).select_from(SignWarning))
    label = "warnings pass (every node of every level)"
    print(f"{label:<46} {ms(best):>15}  ({warned} warnings, rolled back)")


if __name__ == "__main__":
    main()
