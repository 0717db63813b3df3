"""Shared bits for the benchmark scripts (not part of the package, not tests)."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from townops.db import make_engine
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.sync import install_town

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
    install_town(engine, load_town(default_town_dir()), with_demo_users=True)
    return engine


def backend_urls(choice: str, prefix: str) -> dict[str, str]:
    """The databases a bench run uses: a new SQLite file and/or ``PG_URL``."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    urls = {"sqlite": f"sqlite:///{tmp / 'bench.db'}", "postgres": PG_URL}
    return urls if choice == "both" else {choice: urls[choice]}


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
