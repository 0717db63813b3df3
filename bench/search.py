"""Case text search (``GET /api/v1/cases?q=``) at 100,000 and 1,000,000 cases, before (the
plain ``LIKE '%…%'``) and after (the bigram index of migration 0011), on SQLite and
PostgreSQL.

    python bench/search.py [--cases 100000,1000000] [--backend sqlite|postgres|both]
                           [--repeat 15] [--repeat-like 5] [--data ../shared/data/gov-messages]

Cases are bulk-inserted with bench/scale.py's builder (2022, 85 % closed), their content
real citizens' messages (the gov-messages set: title + detail, about 11,000 of them, each
used ~90 times at 1,000,000 cases) and addresses of the town's roads and estates. The
index is built after the load, as a bulk load would (SQLite: FTS5 'rebuild', then the
triggers; PostgreSQL: the GIN index). Each search is the list's page 1 as the dispatcher
(town-wide), 50 rows newest first with the total (``with_total=true``, what the case
search page asks), through ``townops.cases.service.list_cases_for``. "LIKE" is the same
call with the index switched off. PostgreSQL database: ``townops_bench_search`` (dropped
and created; ``--pg-url`` to change).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fresh_engine, ms
from scale import _case_rows

from townops import domains
from townops.auth.models import User
from townops.auth.service import actor_for
from townops.cases import search
from townops.cases.bigrams import document_terms
from townops.cases.models import Case
from townops.cases.service import CaseFilters, list_cases_for
from townops.categories.models import Category
from townops.jurisdiction.models import Jurisdiction

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/townops_bench_search"
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gov-messages"
FILES = ("labeled.csv", "messages_with_votes.csv", "messages_with_replies.csv",
         "messages_unlabeled.csv")  # fmt: skip
MAX_CONTENT = 1000
ROADS = ("东靖路", "金高路", "东陆路", "巨峰路", "南新路", "洲海路", "申江路", "博兴路",
         "民生路", "高行家园", "森兰名轩", "东沟新村", "高行绿洲", "金京路")  # fmt: skip
#: (what it shows, q): common topics of two characters, a phrase, an address, rare words,
#: one character (the index cannot serve it: LIKE either way), Latin letters.
QUERIES = (
    ("two characters, common", "小区"),
    ("two characters", "噪音"),
    ("two characters", "漏水"),
    ("two characters", "路灯"),
    ("two characters, rare", "井盖"),
    ("four characters", "噪音扰民"),
    ("phrase of 7", "物业公司不作为"),
    ("address", "东靖路1200"),
    ("not found", "火星移民"),
    ("one character", "灯"),
    ("Latin letters", "wifi"),
    ("digits", "12345"),
)


def _messages(folder: Path) -> list[str]:
    texts: list[str] = []
    for name in FILES:
        path = folder / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                words = row.get("text") or f"{row.get('留言主题', '')}。{row.get('留言详情', '')}"
                words = " ".join(words.split())
                if words:
                    texts.append(words[:MAX_CONTENT])
    return texts


def _address(rng: random.Random) -> str:
    road = rng.choice(ROADS)
    if road.endswith("路"):
        return f"{road}{rng.randrange(1, 2000)}弄{rng.randrange(1, 60)}号"
    return f"{road}{rng.randrange(1, 40)}号楼{rng.randrange(1, 30)}0{rng.randrange(1, 6)}室"


@contextmanager
def _index_off(engine: Engine) -> Iterator[None]:
    """Load without the index, then build it once (as a bulk load would)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for statement in search.POSTGRES_DROP:
                conn.execute(text(statement))
        else:
            for statement in search.SQLITE_DROP:
                conn.execute(text(statement))
    yield
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            for statement in search.POSTGRES_CREATE:
                conn.execute(text(statement))
        else:
            conn.execute(text(search.SQLITE_TABLE))
            conn.execute(text(search.SQLITE_REBUILD))
            for trigger in search.SQLITE_TRIGGERS:
                conn.execute(text(trigger))
    print(f"  index build: {time.perf_counter() - t0:.1f} s")


def populate(engine: Engine, n: int, texts: list[str], chunk: int = 20_000) -> None:
    rng = random.Random(1)
    with Session(engine) as s:
        cats = list(s.scalars(select(Category)))
        places = list(s.scalars(select(Jurisdiction).where(Jurisdiction.level == "micro_grid")))
    t0 = time.perf_counter()
    with _index_off(engine):
        with engine.begin() as conn:
            for start in range(1, n + 1, chunk):
                cases, _events = _case_rows(rng, start, min(chunk, n - start + 1), cats, places)
                for row in cases:
                    row["content"], row["address"] = rng.choice(texts), _address(rng)
                    row["search_terms"] = document_terms(row["content"], row["address"])
                conn.execute(insert(Case), cases)
                print(f"\r  inserted {start + len(cases) - 1:,} cases", end="", file=sys.stderr)
        print(file=sys.stderr)
        print(f"  bulk insert with terms: {time.perf_counter() - t0:.1f} s")
    _analyze(engine)


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE cases"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def _percentiles(runs: list[float]) -> tuple[float, float]:
    ordered = sorted(runs)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _timed_search(s: Session, actor: Any, q: str, repeat: int) -> tuple[float, float, int]:
    runs, found = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        _rows, _more, total = list_cases_for(
            s, actor=actor, filters=CaseFilters(q=q), page=1, page_size=50, with_total=True
        )
        runs.append(time.perf_counter() - t0)
        found = total or 0
    p50, p95 = _percentiles(runs)
    return p50, p95, found


def _like_only() -> Callable[[], None]:
    original = search.candidates
    search.candidates = lambda _needle, _dialect: None  # type: ignore[assignment]

    def restore() -> None:
        search.candidates = original

    return restore


def bench_queries(engine: Engine, repeat: int, repeat_like: int) -> None:
    with Session(engine) as s:
        user = s.scalars(select(User).where(User.username == "dispatcher")).one()
        actor = actor_for(s, user)
        size = s.scalar(select(func.count()).select_from(Case))
        print(f"  {size:,} cases; page 1 of 50 with the total, as the dispatcher")
        print("  | search | q | found | LIKE p50 | LIKE p95 | index p50 | index p95 |")
        for what, q in QUERIES:
            _timed_search(s, actor, q, 1)  # warm the cache for both
            restore = _like_only()
            try:
                l50, l95, found_like = _timed_search(s, actor, q, repeat_like)
            finally:
                restore()
            i50, i95, found = _timed_search(s, actor, q, repeat)
            assert found == found_like, (q, found, found_like)
            print(
                f"  | {what} | `{q}` | {found:,} | {ms(l50)} | {ms(l95)} | {ms(i50)} | {ms(i95)} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default="100000,1000000")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--repeat-like", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--sqlite-dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    domains.install()  # the case kinds the town's files name
    texts = _messages(args.data)
    if not texts:
        print(f"no messages at {args.data}; give the gov-messages folder with --data")
        raise SystemExit(2)
    print(f"{len(texts):,} real messages, mean {statistics.mean(map(len, texts)):.0f} characters")
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for n in (int(x) for x in args.cases.split(",")):
        for name in backends:
            url = args.pg_url if name == "postgres" else f"sqlite:///{args.sqlite_dir}/search.db"
            print(f"{name}: {n:,} cases")
            engine = fresh_engine(url)
            populate(engine, n, texts)
            bench_queries(engine, args.repeat, args.repeat_like)
            engine.dispose()


if __name__ == "__main__":
    main()
