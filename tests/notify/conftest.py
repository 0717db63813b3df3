"""Fixtures for the channels' tests: the local provider stand-ins of ``receivers``.

Each server starts once per test session, on first use, and is reset before every test
that asks for it (records, scripted failures, slow mode).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.receivers import HttpReceiver, SmtpReceiver

SMTP_USER = "noreply@gaohang.example"
SMTP_PASSWORD = "smtp-test-password"


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[SmtpReceiver]:
    with SmtpReceiver(username=SMTP_USER, password=SMTP_PASSWORD) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def _http_server() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver(_smtp_server: SmtpReceiver) -> SmtpReceiver:
    """The SMTP stand-in, with no message recorded and nothing scripted."""
    _smtp_server.reset()
    return _smtp_server


@pytest.fixture
def http_receiver(_http_server: HttpReceiver) -> HttpReceiver:
    """The WeCom/DingTalk/Aliyun/Tencent stand-in, with nothing recorded or scripted."""
    _http_server.reset()
    return _http_server
