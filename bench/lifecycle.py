"""Full case lifecycles per second, through the service layer and through HTTP.

    python bench/lifecycle.py [--n 2000] [--http-seconds 10] [--backend sqlite|postgres|both]

Case creation over HTTP is driven by wrk (Debian package `wrk`) when it is installed, so
the client costs little CPU; the lifecycle figure uses an asyncio httpx client, which on
this 2-core machine takes a large share of the CPU itself (it is a floor, not a ceiling).

A lifecycle is create → dispatch → accept → resolve → callback (satisfied, auto-close): six
audit events. HTTP figures come from a real `townops serve` process (one uvicorn worker)
driven by an asyncio client on the same 2-core machine, so client and server share CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import backend_urls, fresh_engine

from townops import domains
from townops.access.actor import SYSTEM
from townops.cases.enums import Action
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.service import create_case, perform_action
from townops.categories.models import Category
from townops.timeutil import utcnow

NANXIN = "310115121020"
STEPS: list[tuple[Action, dict[str, object]]] = [
    (Action.dispatch, {"department": "housing_office"}),
    (Action.accept, {}),
    (Action.resolve, {"reply": "已处理"}),
    (Action.callback, {"rating": "satisfied"}),
]


def service_lifecycles(url: str, n: int) -> float:
    engine = fresh_engine(url)
    with Session(engine) as s:
        cat = s.scalars(
            select(Category).where(Category.department_code == "housing_office")
        ).first()
        assert cat is not None
        code = cat.code
    now = utcnow()
    t0 = time.perf_counter()
    for i in range(n):
        with Session(engine, expire_on_commit=False) as s:
            case = create_case(
                s,
                actor=SYSTEM,
                data=CaseCreate(category=code, content=f"漏水 {i}", jurisdiction=NANXIN),
                now=now,
            )
            s.commit()
            for step, (action, body) in enumerate(STEPS, start=1):
                case = perform_action(
                    s,
                    actor=SYSTEM,
                    case_id=case.id,
                    action=action,
                    body=ActionInput(version=case.version, **body),
                    now=now + timedelta(minutes=step),
                )
                s.commit()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return n / elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    fresh_engine(url).dispose()
    subprocess.run(
        [sys.executable, "-m", "townops", "town", "load", "--demo-users", "--database-url", url],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    env = {**os.environ, "TOWNOPS_SECRET_KEY": "bench-secret-key-bench-secret-key-0123"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "townops", "serve", "--port", str(port), "--database-url", url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


async def _http(base: str, seconds: float, concurrency: int) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = {}
        for user in ("dispatcher", "housing"):
            r = await client.post(
                "/api/v1/auth/token", data={"username": user, "password": "demo1234"}
            )
            tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        cats = (await client.get("/api/v1/categories", headers=tokens["dispatcher"])).json()
        code = next(c["code"] for c in cats if c["department"] == "housing_office")
        # The lifecycle dispatches by hand: automatic dispatch only makes its suggestions.
        body = {
            "category": code,
            "content": "楼道堆物",
            "jurisdiction": NANXIN,
            "auto_dispatch": False,
        }

        async def creator(deadline: float, counter: list[int]) -> None:
            while time.perf_counter() < deadline:
                r = await client.post("/api/v1/cases", json=body, headers=tokens["dispatcher"])
                assert r.status_code == 201, r.text
                counter[0] += 1

        async def lifecycle(deadline: float, counter: list[int]) -> None:
            who = {"dispatch": "dispatcher", "callback": "dispatcher"}
            while time.perf_counter() < deadline:
                r = await client.post("/api/v1/cases", json=body, headers=tokens["dispatcher"])
                case = r.json()
                for action, extra in STEPS:
                    user = who.get(action.value, "housing")
                    r = await client.post(
                        f"/api/v1/cases/{case['id']}/actions/{action.value}",
                        json={"version": case["version"], **extra},
                        headers=tokens[user],
                    )
                    assert r.status_code == 200, r.text
                    case = r.json()
                counter[0] += 1

        created = [0]
        t0 = time.perf_counter()
        await asyncio.gather(*(creator(t0 + seconds, created) for _ in range(concurrency)))
        create_rate = created[0] / (time.perf_counter() - t0)
        done = [0]
        t0 = time.perf_counter()
        await asyncio.gather(*(lifecycle(t0 + seconds, done) for _ in range(concurrency)))
        return create_rate, done[0] / (time.perf_counter() - t0)


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"category": "%s", "content": "楼道堆物", "jurisdiction": "%s", "auto_dispatch": false}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


def _wrk_create_rate(base: str, seconds: float) -> float | None:
    """Creation rate measured by wrk (a C client, so the client costs little CPU)."""
    if shutil.which("wrk") is None:
        return None
    token = httpx.post(
        base + "/api/v1/auth/token", data={"username": "dispatcher", "password": "demo1234"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    cats = httpx.get(base + "/api/v1/categories", headers=headers).json()
    code = next(c["code"] for c in cats if c["department"] == "housing_office")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % (code, NANXIN, token))
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{int(seconds)}s", "-s", script.name, base + "/api/v1/cases"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    found = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    return float(found.group(1))


def http_figures(url: str, seconds: float, concurrency: int) -> tuple[float, float | None, float]:
    proc, base = _start_server(url)
    try:
        wrk_rate = _wrk_create_rate(base, seconds)
        py_create, lifecycles = asyncio.run(_http(base, seconds, concurrency))
        return py_create, wrk_rate, lifecycles
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    domains.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    backends = backend_urls(args.backend, "townops-bench-")
    for name in backends:
        rate = service_lifecycles(backends[name], args.n)
        print(f"{name:8s} service layer: {rate:8.1f} full lifecycles/s ({args.n} lifecycles)")
        py_rate, wrk_rate, life_rate = http_figures(
            backends[name], args.http_seconds, args.concurrency
        )
        if wrk_rate is None:
            print(f"{name:8s} HTTP, 1 process: (wrk not installed: apt-get install wrk)")
        else:
            print(f"{name:8s} HTTP, 1 process: {wrk_rate:8.1f} case creations/s (wrk, 8 conns)")
        print(f"{name:8s} HTTP, 1 process: {py_rate:8.1f} case creations/s (Python client)")
        print(f"{name:8s} HTTP, 1 process: {life_rate:8.1f} full lifecycles/s (5 requests each)")


if __name__ == "__main__":
    main()
