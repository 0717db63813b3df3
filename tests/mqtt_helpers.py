"""MQTT plumbing shared by the ingestion tests and bench/sensing.py (not part of the package).

:class:`PrivateBroker` runs a Mosquitto of our own on a free port, configured from the
shipped ``deploy/mosquitto/townops.conf`` with only the listener and the directories
changed, so a test may stop and restart it without touching the system broker on 1883.
Publishing goes through :class:`townops.sensing.simulator.QoS1Publisher`.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import gmqtt  # type: ignore[import-untyped]  # no stubs (as in src)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = ROOT / "deploy" / "mosquitto" / "townops.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)),
        None,
    )


def private_config(port: int, directory: Path, overrides: dict[str, str] | None = None) -> str:
    """The shipped configuration with our port, directories and any overrides."""
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r"^listener .*$", f"listener {port} 127.0.0.1", text, flags=re.M)
    text = re.sub(
        r"^persistence_location .*$", f"persistence_location {directory}/", text, flags=re.M
    )
    text = re.sub(r"^log_dest .*$", f"log_dest file {directory}/mosquitto.log", text, flags=re.M)
    # Started as root, Mosquitto drops to the `mosquitto` user, which could not write here.
    text += f"\nuser {getpass.getuser()}\n"
    for key, value in (overrides or {}).items():
        text, n = re.subn(rf"^{key} .*$", f"{key} {value}", text, flags=re.M)
        if n == 0:
            text += f"\n{key} {value}\n"
    return text


class PrivateBroker:
    """A Mosquitto of our own, on a free port, from the shipped configuration."""

    def __init__(self, directory: Path, overrides: dict[str, str] | None = None) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("no mosquitto binary (apt-get install mosquitto)")
        self.binary = binary
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(private_config(self.port, directory, overrides), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> PrivateBroker:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_answers("127.0.0.1", self.port, 0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.directory / "mosquitto.log"
                detail = log.read_text() if log.exists() else ""
                raise RuntimeError(f"private mosquitto did not start: {detail[-2000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """A clean stop: Mosquitto saves its sessions and queues to disk on SIGTERM."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


async def forget_sessions(port: int, client_ids: Iterable[str]) -> None:
    """End persistent sessions left on a broker, so they stop queueing readings."""
    for client_id in client_ids:
        client = gmqtt.Client(client_id, clean_session=True, session_expiry_interval=0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.connect("127.0.0.1", port, keepalive=10), 5)
            await client.disconnect()
