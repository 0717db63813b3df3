"""How fast the web app's server side answers on the full demo year.

    townops demo --no-serve --year 2022 --db /tmp/demo.db          # once (about 2-4 minutes)
    python bench/web.py [--db /tmp/demo.db] [--repeat 30] [--alarms 20000]

Works on a copy of the database (the original is never written). The copy gets, unless
``--alarms 0``, a live state for every device (about half heard from recently) and
``--alarms`` device alarms over the last 30 days of the year, so the sensing figures
have something to count. Requests go to the real app served by uvicorn on a local port
(one process, as `townops serve` runs it), one at a time; the browser's own load times
are measured by the end-to-end tests. Printed: p50 / p95 / max in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from townops.app import create_app
from townops.auth.models import User
from townops.auth.service import actor_for
from townops.cases.models import Case
from townops.db import make_engine
from townops.jurisdiction.models import Jurisdiction
from townops.sensing.models import Alarm, Device, DeviceState
from townops.settings import Settings
from townops.towns.profile import get_profile
from townops.web import api as web_api
from townops.web import routes as web_routes
from townops.web.live import open_cursor, poll
from townops.web.overview import view_of

REPO = Path(__file__).resolve().parents[1]
NANXIN = "310115121020"
PASSWORD = "demo1234"


def ensure_demo(path: Path) -> None:
    if path.exists():
        return
    print(f"building the demo year into {path} (a few minutes)…", flush=True)
    townops = REPO / ".venv" / "bin" / "townops"
    subprocess.run(
        [str(townops), "demo", "--no-serve", "--year", "2022", "--db", str(path)], check=True
    )


def seed_sensing(url: str, alarms: int, seed: int = 7) -> None:
    """Device states for every device and ``alarms`` alarms in December 2022."""
    engine = make_engine(url)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with Session(engine) as session:
        devices = session.execute(
            select(
                Device.device_id,
                Device.type,
                Device.model,
                Device.jurisdiction_code,
                Device.jurisdiction_path,
                Device.community_code,
            )
        ).all()
        if not session.scalar(select(func.count()).select_from(DeviceState)):
            session.execute(
                insert(DeviceState),
                [
                    {
                        "device_id": d.device_id,
                        "last_seq": 1,
                        "last_ts": now,
                        "last_seen": now - timedelta(hours=rng.choice([0, 0, 48])),
                        "values": {},
                        "rule_state": {},
                        "readings_count": 1,
                    }
                    for d in devices
                ],
            )
        start = datetime(2022, 12, 2, tzinfo=UTC)
        rows = []
        for i in range(alarms):
            d = rng.choice(devices)
            raised = start + timedelta(seconds=rng.randrange(30 * 86400))
            closed = raised + timedelta(minutes=rng.randrange(5, 600)) if i % 10 else None
            rows.append(
                {
                    "device_id": d.device_id,
                    "rule_id": "bench",
                    "kind": "threshold",
                    "severity": "warning",
                    "state": "cleared" if closed else "raised",
                    "open_key": None if closed else f"{d.device_id}/bench{i}",
                    "message": "bench",
                    "device_type": d.type,
                    "device_model": d.model,
                    "jurisdiction_code": d.jurisdiction_code,
                    "jurisdiction_path": d.jurisdiction_path,
                    "community_code": d.community_code,
                    "storm_key": d.device_id,
                    "raised_at": raised,
                    "cleared_at": closed,
                    "closed_at": closed,
                    "note": "",
                }
            )
        if rows:
            session.execute(insert(Alarm), rows)
        session.commit()
    engine.dispose()


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f}  p95 {p95 * 1000:7.1f}  "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


def measure(label: str, repeat: int, request: Callable[[], Any]) -> None:
    request()  # warm: the first call of a kind fills per-process caches
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = request()
        samples.append(time.perf_counter() - t0)
        status = getattr(response, "status_code", 200)
        if status >= 400:
            raise SystemExit(f"{label}: HTTP {status} {response.text[:200]}")
    size = len(getattr(response, "content", b""))
    print(f"{label:<58} {percentiles(samples)}  {size / 1024:6.1f} KiB", flush=True)


def serve(app: FastAPI) -> httpx.Client:
    """Serve ``app`` with uvicorn on a free local port, in a thread; a client for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/demo.db"))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--alarms", type=int, default=20_000)
    args = parser.parse_args()
    ensure_demo(args.db)
    work = Path(tempfile.mkdtemp(prefix="townops-web-bench-")) / "demo.db"
    shutil.copy(args.db, work)
    url = f"sqlite:///{work}"
    if args.alarms:
        seed_sensing(url, args.alarms)

    app = create_app(Settings(database_url=url))
    if "/api/v1/overview" not in {getattr(r, "path", None) for r in app.router.routes}:
        app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != "/"]
        app.include_router(web_api.router)
        app.include_router(web_routes.router)
    client = serve(app)

    def login(user: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    engine = app.state.engine
    with Session(engine) as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        devices = session.scalar(select(func.count()).select_from(Device))
        alarm_count = session.scalar(select(func.count()).select_from(Alarm))
        sample_ids = session.scalars(select(Case.id).order_by(Case.id.desc()).limit(200)).all()
        alarm_case = sample_ids[0]
        sample_token = session.scalars(select(Case.token).where(Case.id == sample_ids[-1])).one()
    if args.alarms:
        with Session(engine) as session:  # three alarms on one case, for the case page
            ids = session.scalars(select(Alarm.id).limit(3)).all()
            for alarm_id in ids:
                session.get_one(Alarm, alarm_id).case_id = alarm_case
            session.commit()
    print(f"database copy: {work}  ({cases} cases, {devices} devices, {alarm_count} alarms)")
    print(f"{args.repeat} requests each, after one warm-up, over a local socket\n")

    leader, nanxin, dispatcher = login("leader"), login("nanxin"), login("dispatcher")
    grid, housing, resident = login("grid_nanxin"), login("housing"), login("resident_a")

    print("one screen: GET /api/v1/overview (one answer carries all four map figures)")
    for label, headers, params in [
        ("town, leader, as_of=auto", leader, {"as_of": "auto"}),
        ("town, leader, as_of=2022-12-31", leader, {"as_of": "2022-12-31"}),
        ("town, leader, today (empty window)", leader, {}),
        (
            "community Nanxin, leader zoomed in, as_of=auto",
            leader,
            {"as_of": "auto", "jurisdiction": NANXIN},
        ),
        ("community Nanxin, its own staff, as_of=auto", nanxin, {"as_of": "auto"}),
        ("micro-grid, its grid worker, as_of=auto", grid, {"as_of": "auto"}),
    ]:
        measure(label, args.repeat, partial(
            client.get, "/api/v1/overview", params=params, headers=headers))  # fmt: skip

    print("\nthe page's other first requests")
    measure("GET / (the shell)", args.repeat, lambda: client.get("/overview"))
    version = web_routes.asset_version()
    measure("GET a JS module (cached in memory)", args.repeat,
            lambda: client.get(f"/static/{version}/js/pages/overview.js"))  # fmt: skip
    measure("GET /api/v1/web/config", args.repeat, lambda: client.get("/api/v1/web/config"))
    measure("GET /api/v1/auth/me", args.repeat, lambda: client.get("/api/v1/auth/me",
            headers=leader))  # fmt: skip
    measure("POST /api/v1/live/ticket", args.repeat,
            lambda: client.post("/api/v1/live/ticket", headers=leader))  # fmt: skip

    print("\ncase page (dispatcher; a different recent case each time)")
    picks = iter(list(sample_ids) * 10)
    measure("GET /api/v1/cases/{id}", args.repeat,
            lambda: client.get(f"/api/v1/cases/{next(picks)}", headers=dispatcher))  # fmt: skip
    measure("GET /api/v1/cases/{id}/history", args.repeat,
            lambda: client.get(f"/api/v1/cases/{next(picks)}/history",
                               headers=dispatcher))  # fmt: skip
    measure("GET /api/v1/alarms?case={id}", args.repeat,
            lambda: client.get("/api/v1/alarms", params={"case": alarm_case},
                               headers=dispatcher))  # fmt: skip
    measure("GET /api/v1/web/reference (once per session)", args.repeat,
            lambda: client.get("/api/v1/web/reference", headers=dispatcher))  # fmt: skip

    print("\nhome list: GET /api/v1/cases?page_size=30 (newest first)")
    for label, headers, params in [
        ("handler (housing), page 1 with the total", housing, {"with_total": "true"}),
        ("handler (housing), page 5", housing, {"page": "5"}),
        ("community staff (Nanxin), page 1 with the total", nanxin, {"with_total": "true"}),
        ("resident, page 1 with the total", resident, {"with_total": "true"}),
    ]:
        measure(label, args.repeat, partial(
            client.get, "/api/v1/cases", params={"page_size": "30", **params},
            headers=headers))  # fmt: skip

    print("\ncase search (工单查询, dispatcher): GET /api/v1/cases?page_size=50&with_total=true")
    for label, params in [
        ("text in content or address: 路灯", {"q": "路灯"}),
        ("text: 漏水", {"q": "漏水"}),
        ("a tracking code", {"q": sample_token}),
        ("a phone number (no match)", {"phone": "13812345678"}),
        ("category and overdue", {"category": "street_light", "overdue": "true"}),
    ]:
        measure(label, args.repeat, partial(
            client.get, "/api/v1/cases",
            params={"page_size": "50", "with_total": "true", **params},
            headers=dispatcher))  # fmt: skip
    measure("export: GET /api/v1/cases/export.xlsx?q=路灯", args.repeat,
            partial(client.get, "/api/v1/cases/export.xlsx", params={"q": "路灯"},
                    headers=dispatcher))  # fmt: skip

    print("\nlive feed: one poll of one connection (service call, no HTTP)")
    with Session(engine) as session:
        profile = get_profile(session)

        def persona(name: str) -> Any:
            user = session.scalars(select(User).where(User.username == name)).one()
            return actor_for(session, user)

        for label, view in [("town (duty officer)", persona("duty")),
                            ("community staff (Nanxin)", persona("nanxin"))]:  # fmt: skip
            cursor = open_cursor(session, view=view)
            measure(f"idle poll, {label}", args.repeat,
                    partial(poll, session, view=view, profile=profile,
                            cursor=cursor))  # fmt: skip

            def backlog(v: Any = view) -> Any:
                return poll(session, view=v, profile=profile,
                            cursor=open_cursor(session, view=v, since="0.0"))  # fmt: skip

            # A cursor 500 events back (the most a reconnecting client may ask for).
            measure(f"poll with 500 new events, {label}", max(5, args.repeat // 3), backlog)
        zoomed = view_of(persona("leader"), session.get_one(Jurisdiction, NANXIN))
        cursor = open_cursor(session, view=zoomed)
        measure("idle poll, leader zoomed to Nanxin", args.repeat,
                lambda: poll(session, view=zoomed, profile=profile, cursor=cursor))  # fmt: skip
    print(f"\n(the copy stays at {work}; delete it when done)")


if __name__ == "__main__":
    main()
