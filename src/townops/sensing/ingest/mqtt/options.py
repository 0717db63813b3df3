"""An ingester's options and its counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from townops.sensing.ingest.mqtt.broker import DEFAULT_BROKER

SHARE_GROUP = "townops"
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class IngestOptions:
    """How one ingester (``townops ingest mqtt``) connects, subscribes, batches and reports."""

    database_url: str
    broker: str = DEFAULT_BROKER
    #: The town code in the topics; default: the town loaded in the database.
    town: str | None = None
    group: str = SHARE_GROUP
    #: Client ids are ``{prefix}-{n}``; default prefix ``townops-ingest-{town}``.
    client_id_prefix: str | None = None
    batch_size: int = 2000
    batch_ms: float = 50.0
    session_expiry_seconds: int = SESSION_EXPIRY_SECONDS
    #: Heartbeat-lost sweep (worker 1 only); 0 = never.
    sweep_seconds: float = 60.0
    #: Counters to the log; 0 = only at exit.
    stats_seconds: float = 30.0
    keepalive: int = 60
    log_level: str = "INFO"
    #: Counters as JSON, rewritten at every stats interval and at exit; ``{n}`` = the worker.
    stats_file: str | None = None

    def client_id(self, town: str, index: int) -> str:
        return f"{self.client_id_prefix or f'townops-ingest-{town}'}-{index}"

    @property
    def receive_maximum(self) -> int:
        """How many unacknowledged messages the broker may send us: two batches' worth,
        so the next batch fills while the previous one commits."""
        return max(20, min(65535, 2 * self.batch_size))


@dataclass
class IngestStats:
    """An ingester's counters, logged every ``stats_seconds`` and written to ``stats_file``."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    late: int = 0
    set_aside: Counter[str] = field(default_factory=Counter)
    alarms_raised: int = 0
    alarms_cleared: int = 0
    cases_opened: int = 0
    batches: int = 0
    acknowledged: int = 0
    commit_seconds: float = 0.0
    slowest_commit: float = 0.0
    commit_failures: int = 0
    connects: int = 0
    sweeps: int = 0

    def line(self) -> str:
        aside = ", ".join(f"{k} {v}" for k, v in sorted(self.set_aside.items())) or "0"
        mean_ms = 1000 * self.commit_seconds / self.batches if self.batches else 0.0
        return (
            f"received {self.received:,} · stored {self.stored:,} · duplicates "
            f"{self.duplicates:,} · late {self.late:,} · set aside {aside} · acknowledged "
            f"{self.acknowledged:,} · alarms +{self.alarms_raised}/-{self.alarms_cleared} · "
            f"cases {self.cases_opened} · batches {self.batches:,} (commit mean {mean_ms:.1f} "
            f"ms, max {1000 * self.slowest_commit:.0f} ms, failed {self.commit_failures})"
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["set_aside"] = dict(self.set_aside)
        return data
