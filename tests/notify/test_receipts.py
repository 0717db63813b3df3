"""Delivery reports (回执) pushed by the SMS gateways after sending: Aliyun's SmsReport and
Tencent Cloud's status callback, in their own request and answer shapes, behind the
channel's token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.notify import api as notify_api
from townops.notify import receipts
from townops.notify.config import NotificationsConfig
from townops.notify.models import Notification
from townops.ratelimit import MissLimiter

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TOKEN = "receipt-token-8c1f"
PHONE = "13812345678"


def _config() -> NotificationsConfig:
    sms = {"sign_name": "高行镇", "receipt_token_env": "TEST_RECEIPT_TOKEN"}
    return NotificationsConfig.model_validate(
        {
            "channels": {
                "sms": {"kind": "aliyun_sms", "template_code": "SMS_1", **sms},
                "tsms": {"kind": "tencent_sms", "sdk_app_id": "1400", "template_id": "9", **sms},
                "quiet_sms": {"kind": "aliyun_sms", "sign_name": "高行镇", "template_code": "S"},
            }
        }
    )


@pytest.fixture
def gateways(monkeypatch: pytest.MonkeyPatch, session: Session) -> Callable[[str, str], int]:
    """Two SMS channels taking reports with TOKEN; ``sent(channel, provider_id)`` puts a
    message the gateway took into the outbox, as the worker leaves it."""
    config = _config()
    monkeypatch.setattr(receipts, "config_of", lambda _session: config)
    monkeypatch.setattr(notify_api, "WRONG_TOKENS", MissLimiter(max_misses=3))
    monkeypatch.setenv("TEST_RECEIPT_TOKEN", TOKEN)

    def sent(channel: str, provider_id: str) -> int:
        row = Notification(
            key=f"t:{channel}:{provider_id}",
            rule="request_received",
            channel=channel,
            address=PHONE,
            title="诉求已受理",
            body="凭查询码查询进度",
            state="delivered",
            next_attempt_at=T0,
            sent_at=T0,
            receipt={"provider_id": provider_id, "Code": "OK"},
        )
        session.add(row)
        session.commit()
        return row.id

    return sent


def _row(session: Session, row_id: int) -> Notification:
    session.expire_all()
    row = session.scalars(select(Notification).where(Notification.id == row_id)).one()
    return row


def test_an_aliyun_report_marks_the_handset_s_answer_on_each_message(
    client: TestClient, session: Session, gateways: Callable[[str, str], int]
) -> None:
    got, lost = gateways("sms", "900^1"), gateways("sms", "900^2")
    reports = [
        {"phone_number": PHONE, "send_time": "2026-03-02 09:00:00",
         "report_time": "2026-03-02 09:00:04", "success": True, "err_code": "DELIVERED",
         "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "900^1", "out_id": ""},
        {"phone_number": PHONE, "report_time": "2026-03-02 09:00:09", "success": False,
         "err_code": "MK:0001", "biz_id": "900^2"},
        {"phone_number": PHONE, "success": True, "err_code": "DELIVERED", "biz_id": "unknown"},
    ]  # fmt: skip
    answer = client.post(f"/api/v1/notifications/receipts/sms?token={TOKEN}", json=reports)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"code": 0, "msg": "接收成功"}
    delivered = _row(session, got)
    assert delivered.state == "delivered"
    assert delivered.receipt is not None and delivered.receipt["provider_id"] == "900^1"
    report = delivered.receipt["report"]
    assert (report["received"], report["code"], report["at"]) == (
        True,
        "DELIVERED",
        "2026-03-02 09:00:04",
    )
    failed = _row(session, lost)
    assert failed.state == "failed" and failed.last_error == "carrier report: MK:0001"
    # The report repeats the phone number: it is not stored a second time.
    assert PHONE not in str(delivered.receipt) and PHONE not in str(failed.receipt)


def test_a_tencent_callback_is_matched_by_its_serial_number(
    client: TestClient, session: Session, gateways: Callable[[str, str], int]
) -> None:
    got, lost = gateways("tsms", "2433:1"), gateways("tsms", "2433:2")
    reports = [
        {"user_receive_time": "2026-03-02 09:00:03", "nationcode": "86", "mobile": PHONE,
         "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
         "sid": "2433:1"},
        {"user_receive_time": "", "nationcode": "86", "mobile": PHONE, "report_status": "FAIL",
         "errmsg": "MN:0017", "description": "空号", "sid": "2433:2"},
    ]  # fmt: skip
    answer = client.post(f"/api/v1/notifications/receipts/tsms?token={TOKEN}", json=reports)
    assert answer.status_code == 200 and answer.json() == {"result": 0, "errmsg": "OK"}
    assert _row(session, got).receipt["report"]["code"] == "DELIVRD"  # type: ignore[index]
    assert _row(session, lost).state == "failed"
    # The same report again changes nothing more (a gateway retries until answered).
    again = client.post(f"/api/v1/notifications/receipts/tsms?token={TOKEN}", json=reports)
    assert again.status_code == 200 and _row(session, lost).state == "failed"


@pytest.mark.parametrize(
    ("channel", "token", "status", "field"),
    [
        ("sms", "wrong", 403, "token"),
        ("sms", "", 403, "token"),
        ("quiet_sms", TOKEN, 403, "token"),  # a channel with no token configured takes none
        ("inapp", TOKEN, 404, "channel"),
        ("nosuch", TOKEN, 404, "channel"),
    ],
)
def test_a_report_without_the_channel_s_token_is_refused_and_changes_nothing(
    client: TestClient,
    session: Session,
    gateways: Callable[[str, str], int],
    channel: str,
    token: str,
    status: int,
    field: str,
) -> None:
    row = gateways("sms", "77")
    body = [{"biz_id": "77", "success": False, "err_code": "MK:0001"}]
    answer = client.post(f"/api/v1/notifications/receipts/{channel}?token={token}", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["details"]["field"] == field
    assert _row(session, row).state == "delivered"


def test_a_malformed_report_is_a_422_naming_the_report_and_its_field(
    client: TestClient, session: Session, gateways: Callable[[str, str], int]
) -> None:
    row = gateways("sms", "88")
    body = [{"biz_id": "88", "success": False}, {"success": True}]
    answer = client.post(f"/api/v1/notifications/receipts/sms?token={TOKEN}", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["field"] == "[1].biz_id"
    assert _row(session, row).state == "delivered"  # all or nothing
    too_many = [{"biz_id": str(i), "success": True} for i in range(receipts.MAX_REPORTS + 1)]
    answer = client.post(f"/api/v1/notifications/receipts/sms?token={TOKEN}", json=too_many)
    assert answer.status_code == 422


def test_guessing_the_token_is_refused_after_a_few_tries_even_the_right_one(
    client: TestClient, session: Session, gateways: Callable[[str, str], int]
) -> None:
    row = gateways("sms", "99")
    body = [{"biz_id": "99", "success": False, "err_code": "MK:0001"}]
    for guess in ("a", "b", "c"):
        wrong = client.post(f"/api/v1/notifications/receipts/sms?token={guess}", json=body)
        assert wrong.status_code == 403
    held = client.post(f"/api/v1/notifications/receipts/sms?token={TOKEN}", json=body)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert _row(session, row).state == "delivered"
