"""Shared bits for the benchmark scripts (not part of the package, not tests)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from townops.db import make_engine
from townops.migrate import upgrade
from townops.models import Base
from townops.towns.loader import default_town_dir, load_town
from townops.towns.sync import sync_town

PG_URL = os.environ.get(
    "TOWNOPS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/townops_bench"
)


def fresh_engine(url: str) -> Engine:
    """An empty database at ``url`` with the schema and the Gaohang town (and demo users)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
    else:
        admin = make_engine(str(parsed.set(database="postgres")), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    engine = make_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
    upgrade(engine)
    with Session(engine) as session:
        sync_town(session, load_town(default_town_dir()))
        session.commit()
    return engine


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, float]:
    """(best, median) wall-clock seconds of ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
