"""Delivery reports (回执) from the SMS gateways, collected after the message was sent.

A gateway that takes a message (``delivered`` in the outbox: the provider has it) learns
later from the carrier whether the handset got it, and pushes that to a URL the town
gives it: Aliyun's SmsReport (HTTP 批量推送) and Tencent Cloud's 短信下发状态回调, each a
JSON array of reports keyed by the id the send returned (Aliyun ``biz_id`` = BizId,
Tencent ``sid`` = SerialNo). Neither signs the request, so the URL carries a token the
channel's configuration names (``receipt_token_env``) and a report without it is refused.

A report is stored on its row (``receipt["report"]``: received or not, the carrier's code
and time; never the phone number it repeats). A message the handset did not receive
becomes ``failed`` with the carrier's code, so the delivery log shows it and the
administrator may resend it. A report for an id townops never sent is counted, not stored.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.errors import Forbidden, InvalidInput, NotFound
from townops.notify.channels.config import AliyunSmsConfig, TencentSmsConfig
from townops.notify.models import DeliveryState, Notification
from townops.notify.service import config_of

__all__ = [
    "MAX_REPORTS",
    "AliyunReport",
    "ReceiptsTaken",
    "TencentReport",
    "provider_answer",
    "record_reports",
]

MAX_REPORTS = 1000
_Text = Annotated[str, StringConstraints(max_length=200)]


class _Report(BaseModel):
    # Providers add fields over time: what townops does not read is ignored, not refused.
    model_config = ConfigDict(extra="ignore")


class AliyunReport(_Report):
    """One element of Aliyun's SmsReport array."""

    biz_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    success: bool
    err_code: _Text = ""
    report_time: _Text = ""

    def outcome(self) -> tuple[str, bool, str, str]:
        return self.biz_id, self.success, self.err_code, self.report_time


class TencentReport(_Report):
    """One element of Tencent Cloud's status callback array."""

    sid: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    report_status: Annotated[str, StringConstraints(pattern=r"^(SUCCESS|FAIL)$")]
    errmsg: _Text = ""
    user_receive_time: _Text = ""

    def outcome(self) -> tuple[str, bool, str, str]:
        return self.sid, self.report_status == "SUCCESS", self.errmsg, self.user_receive_time


@dataclass(frozen=True)
class ReceiptsTaken:
    kind: str
    matched: int
    received: int
    not_received: int
    unknown: int


def _channel_kind(session: Session, channel: str, token: str, env: Mapping[str, str]) -> str:
    """The SMS channel's kind, once the token is the one its configuration names."""
    config = config_of(session).channels.get(channel)
    if not isinstance(config, AliyunSmsConfig | TencentSmsConfig):
        raise NotFound(f"no SMS channel {channel!r} takes delivery reports", field="channel")
    expected = env.get(config.receipt_token_env, "") if config.receipt_token_env else ""
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise Forbidden("the delivery report's token is wrong or not configured", field="token")
    return config.kind


def record_reports(
    session: Session,
    *,
    channel: str,
    token: str,
    reports: Sequence[Any],
    env: Mapping[str, str],
    now: datetime,
) -> ReceiptsTaken:
    """Store each report on the message it is about (``reports``: the JSON array, checked
    here against the channel's provider). Raises NotFound / Forbidden for a channel that
    takes none or a wrong token, and pydantic's ValidationError for a malformed array."""
    kind = _channel_kind(session, channel, token, env)
    model: type[AliyunReport] | type[TencentReport] = (
        AliyunReport if kind == "aliyun_sms" else TencentReport
    )
    parsed = [_parse(model, index, item) for index, item in enumerate(reports)]
    outcomes = {outcome[0]: outcome for outcome in (report.outcome() for report in parsed)}
    rows = {
        str((row.receipt or {}).get("provider_id")): row
        for row in session.scalars(
            select(Notification).where(
                Notification.channel == channel,
                Notification.receipt["provider_id"].as_string().in_(sorted(outcomes)),
            )
        )
    }
    received = not_received = 0
    for provider_id, (_, ok, code, at) in outcomes.items():
        row = rows.get(provider_id)
        if row is None:
            continue
        report = {"received": ok, "code": code[:60], "at": at[:40], "recorded_at": now.isoformat()}
        row.receipt = {**(row.receipt or {}), "report": report}
        if ok:
            received += 1
        else:
            not_received += 1
            if row.state == DeliveryState.delivered.value:
                row.state = DeliveryState.failed.value
                row.last_error = f"carrier report: {code or 'not received'}"[:300]
    session.flush()
    return ReceiptsTaken(
        kind=kind,
        matched=len(rows),
        received=received,
        not_received=not_received,
        unknown=len(outcomes) - len(rows),
    )


def _parse(
    model: type[AliyunReport] | type[TencentReport], index: int, item: Any
) -> AliyunReport | TencentReport:
    try:
        return model.model_validate(item)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(
            f"report {index}: {where or 'the report'}: {first['msg']}",
            field=f"[{index}].{where}" if where else f"[{index}]",
        ) from None


def provider_answer(kind: str) -> dict[str, object]:
    """What each gateway expects back when the reports were taken."""
    if kind == "aliyun_sms":
        return {"code": 0, "msg": "接收成功"}
    return {"result": 0, "errmsg": "OK"}
