"""A real townops server process and Debian's Chromium, for the browser tests and the bench.

Shared by tests/browser/ and bench/web_browser.py (not part of the package). The server is
``townops serve`` in a subprocess on a free port against a database of its own; Chromium is
``/usr/bin/chromium`` driven by Playwright (no browser download: see docs/testing.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import ViewportSize
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.factories import persona_token
from townops.db import make_engine
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.sync import install_town

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

# The flags this machine's Chromium needs (docs/testing.md): without the background-networking
# ones it keeps trying to reach Google's hosts through a closed network. Playwright adds
# --headless and a fresh, empty --user-data-dir of its own to every launch.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
WALL: ViewportSize = {"width": 2560, "height": 1440}

# Schemes that fetch nothing from anywhere.
_LOCAL_SCHEMES = {"data", "blob", "about"}


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the database ----------------------------------------------------------------------------


def own_database_url(tmp: Path, pg_database: str, base_url: str | None) -> str:
    """A new SQLite file under ``tmp``, or ``pg_database`` (re)created next to ``base_url``."""
    if not base_url or not base_url.startswith("postgresql"):
        return f"sqlite:///{tmp / 'browser.db'}"
    parsed = make_url(base_url)
    _admin_execute(base_url, f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
    _admin_execute(base_url, f'CREATE DATABASE "{pg_database}"')
    return parsed.set(database=pg_database).render_as_string(hide_password=False)


def drop_own_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        _admin_execute(url, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _admin_execute(url: str, statement: str) -> None:
    admin_url = make_url(url).set(database="postgres")
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def install_gaohang(url: str) -> None:
    """Schema, the Gaohang town and its demo users (password demo1234)."""
    engine = make_engine(url)
    try:
        install_town(engine, load_town(default_town_dir()), with_demo_users=True)
    finally:
        engine.dispose()


# --- the server ------------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running ``townops serve``; ``api`` is an HTTP client on it."""

    base_url: str
    database_url: str
    process: subprocess.Popen[bytes]
    api: httpx.Client = field(repr=False)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def netloc(self) -> str:
        return urlsplit(self.base_url).netloc

    def token(self, username: str) -> str:
        if username not in self._tokens:
            self._tokens[username] = persona_token(self.api, username)
        return self._tokens[username]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def create_case(self, username: str, **body: Any) -> dict[str, Any]:
        r = self.api.post("/api/v1/cases", json=body, headers=self.headers(username))
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    def act(self, username: str, case: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
        body.setdefault("version", case["version"])
        r = self.api.post(
            f"/api/v1/cases/{case['id']}/actions/{action}",
            json=body,
            headers=self.headers(username),
        )
        assert r.status_code == 200, r.text
        done: dict[str, Any] = r.json()
        return done


def server_command(database_url: str, port: int) -> list[str]:
    """``townops serve`` as this interpreter runs it (tests/browser/serve.py mounts the pages)."""
    return [
        sys.executable,
        "-m",
        "tests.browser.serve",
        "--database-url",
        database_url,
        "--port",
        str(port),
    ]


@contextmanager
def live_server(
    database_url: str,
    log_path: Path,
    start_timeout: float = 60,
    env: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Start the server on a free port, wait for /healthz, stop it on the way out.

    ``env``: more environment for the server (settings such as ``TOWNOPS_MAP_TILE_DIR``)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **(env or {}),
        "TOWNOPS_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(database_url, port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client(base_url=base_url, timeout=30) as api:
            _wait_for_health(api, process, log_path, start_timeout)
            yield LiveServer(base_url, database_url, process, api)
    finally:
        _stop(process)


@contextmanager
def gaohang_server(
    tmp: Path,
    pg_database: str,
    *,
    cases: Sequence[dict[str, Any]] = (),
    env: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """A server on a database of its own holding the Gaohang town (and ``cases``, filed by
    the dispatcher): a SQLite file in ``tmp``, or ``pg_database`` when the tests run on
    PostgreSQL (created here, dropped on the way out)."""
    url = own_database_url(tmp, pg_database, os.environ.get("TOWNOPS_TEST_DATABASE_URL"))
    try:
        install_gaohang(url)
        with live_server(url, tmp / "server.log", env=env) as live:
            for body in cases:
                live.create_case("dispatcher", **body)
            yield live
    finally:
        drop_own_database(url)


def _wait_for_health(
    api: httpx.Client, process: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"townops serve exited with {process.returncode}:\n{log_path.read_text()}"
            )
        with suppress(httpx.TransportError):
            if api.get("/healthz").status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"townops serve did not answer /healthz in {timeout} s:\n{log_path.read_text()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- what the pages fetch --------------------------------------------------------------------


@dataclass
class RequestLog:
    """Every URL the browser asked for on behalf of the pages (recorded on the context)."""

    urls: list[str] = field(default_factory=list)

    def record(self, url: str) -> None:
        self.urls.append(url)

    def outside(self, netloc: str) -> list[str]:
        """The URLs not served by the server at ``netloc``."""
        return [u for u in self.urls if not _is_local(u, netloc)]


def _is_local(url: str, netloc: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in _LOCAL_SCHEMES or (
        parts.scheme in ("http", "https", "ws", "wss") and parts.netloc == netloc
    )
