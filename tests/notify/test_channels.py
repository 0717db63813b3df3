"""Each channel (通知渠道) delivers, or says why not in a way the worker can act on.

The channels talk to local stand-ins of the real providers (``tests/notify/receivers.py``):
an SMTP server, and an HTTP server speaking WeCom's and DingTalk's bot webhooks and
Aliyun's and Tencent's SendSms, which check the signatures as the providers document
them. For every channel: what the provider received (Chinese text intact, template
parameters and number), a temporary failure (with the wait the provider asked for), a
permanent one, a timeout, a missing secret; and that no failure repeats the message's text
or address, which hold residents' names and phone numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Any

import pytest
from pydantic import ValidationError

from tests.notify.conftest import SMTP_PASSWORD, SMTP_USER
from tests.notify.receivers import (
    Answer,
    HttpReceiver,
    SmtpReceiver,
    aliyun_error,
    dingtalk_error,
    feishu_error,
    free_port,
    http_error,
    tencent_error,
    tencent_status,
    wecom_error,
)
from townops.notify.channels.base import (
    ChannelError,
    Message,
    PermanentFailure,
    TemporaryFailure,
)
from townops.notify.channels.config import (
    AliyunSmsConfig,
    ChannelConfig,
    DingTalkBotConfig,
    EmailConfig,
    FeishuBotConfig,
    InAppConfig,
    TencentSmsConfig,
    WeComBotConfig,
    parse_channel_config,
)
from townops.notify.channels.email import EmailChannel
from townops.notify.channels.inapp import InAppChannel
from townops.notify.channels.registry import build_channel
from townops.notify.channels.sms import AliyunSms, TencentSms, aliyun_signature
from townops.notify.channels.webhooks import DingTalkBot, FeishuBot, WeComBot

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)

PHONE = "13800138000"
EMAIL = "zhang.san@example.cn"
TITLE = "工单 #1024 还剩 4小时 到期"
BODY = "张三（13800138000）反映：南新村3号楼电梯停运，请于 18:00 前办结。"
SENDER = "高行镇城运中心 <noreply@gaohang.example>"
TIMEOUT = 0.3  # the timeout tests' channels; the receiver holds its answer back longer
SLOW = 1.5
DINGTALK_SECRET = "SEC-dingtalk-test-secret"

ENVIRONMENT = {
    "SMTP_PASSWORD": SMTP_PASSWORD,
    "DINGTALK_SECRET": DINGTALK_SECRET,
    "ALIYUN_ID": "LTAI-test-id",
    "ALIYUN_SECRET": "aliyun-test-secret",
    "TENCENT_ID": "AKID-test-id",
    "TENCENT_KEY": "tencent-test-secret",
}


def message(address: str = "", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "id": 1024,
        "idempotency_key": "deadline_reminder:case-1024:user-7:email:2026-05-01T10:00",
        "address": address,
        "title": TITLE,
        "body": BODY,
        "template_params": {"case_id": "1024", "left": "4小时", "due_at": "18:00"},
    }
    fields.update(changes)
    return Message(**fields)


def assert_discreet(failure: ChannelError, sent: Message, *secrets: str) -> None:
    """Nothing of the message (text, address, parameters) nor a secret in the failure."""
    shown = f"{failure!s} {failure.reason} {failure.detail!r}"
    private = [sent.body, sent.title, PHONE, EMAIL, *sent.template_params.values(), *secrets]
    for text in private:
        if text:
            assert text not in shown
    assert failure.__cause__ is None  # a chained provider error may quote any of it


# ---------------------------------------------------------------------------- configuration


def test_each_kind_of_channel_reads_its_own_settings_and_refuses_unknown_ones() -> None:
    """The union is discriminated on ``kind``; a typo in a setting is an error, not ignored."""
    configs = {
        "email": {"kind": "email", "host": "smtp.example.gov.cn", "sender": SENDER},
        "wecom": {"kind": "wecom_bot", "url": "https://qyapi.weixin.qq.com/x?key=k"},
        "ding": {"kind": "dingtalk_bot", "url": "https://oapi.dingtalk.com/robot/send"},
        "ali": {"kind": "aliyun_sms", "sign_name": "高行镇", "template_code": "SMS_1"},
        "tc": {
            "kind": "tencent_sms",
            "sdk_app_id": "1400006666",
            "sign_name": "高行镇",
            "template_id": "1234",
        },
        "bell": {"kind": "inapp"},
    }
    parsed = {name: parse_channel_config(raw) for name, raw in configs.items()}
    assert isinstance(parsed["email"], EmailConfig) and parsed["email"].port == 25
    assert isinstance(parsed["ali"], AliyunSmsConfig)
    assert parsed["ali"].endpoint == "https://dysmsapi.aliyuncs.com/"
    assert isinstance(parsed["tc"], TencentSmsConfig) and parsed["tc"].region == "ap-guangzhou"
    assert isinstance(parsed["bell"], InAppConfig)
    with pytest.raises(ValidationError):
        parse_channel_config({**configs["email"], "pasword_env": "X"})
    with pytest.raises(ValidationError):
        parse_channel_config({"kind": "fax"})


def test_a_bot_url_must_be_http_and_its_error_does_not_repeat_the_key() -> None:
    """A webhook URL holds the bot's key: a refused URL must not copy it into a log."""
    with pytest.raises(ValidationError) as refused:
        parse_channel_config({"kind": "wecom_bot", "url": "ftp://qyapi.example/?key=s3cr3t-key"})
    assert "http" in str(refused.value)
    assert "s3cr3t-key" not in str(refused.value)
    with pytest.raises(ValidationError):
        parse_channel_config({"kind": "aliyun_sms", "endpoint": "dysmsapi", "sign_name": "a",
                              "template_code": "b"})  # fmt: skip


def test_an_smtp_login_names_its_password_variable_and_the_sender_is_an_address() -> None:
    """Secrets are environment variables' names; a sender without an address is an error."""
    base = {"kind": "email", "host": "smtp.example.gov.cn", "sender": SENDER}
    with pytest.raises(ValidationError):
        parse_channel_config({**base, "username": "noreply"})  # no password_env
    with pytest.raises(ValidationError):
        parse_channel_config({**base, "username": "a", "password_env": "not a name!"})
    with pytest.raises(ValidationError):
        parse_channel_config({**base, "sender": "高行镇城运中心"})
    config = parse_channel_config({**base, "username": "a", "password_env": "SMTP_PASSWORD"})
    assert isinstance(config, EmailConfig) and config.sender_address == "noreply@gaohang.example"


def test_build_channel_gives_each_kind_its_channel_under_the_configured_name() -> None:
    """The registry is the one place mapping a ``kind`` to the class that sends it."""
    expected: dict[str, tuple[ChannelConfig, type]] = {
        "email": (EmailConfig(kind="email", host="h", sender=SENDER), EmailChannel),
        "ops_group": (WeComBotConfig(kind="wecom_bot", url="https://w/"), WeComBot),
        "duty": (DingTalkBotConfig(kind="dingtalk_bot", url="https://d/"), DingTalkBot),
        "lark": (FeishuBotConfig(kind="feishu_bot", url="https://f/"), FeishuBot),
        "sms": (AliyunSmsConfig(kind="aliyun_sms", sign_name="s", template_code="t"), AliyunSms),
        "sms_tc": (
            TencentSmsConfig(kind="tencent_sms", sdk_app_id="1", sign_name="s", template_id="2"),
            TencentSms,
        ),
        "inapp": (InAppConfig(kind="inapp"), InAppChannel),
    }
    for name, (config, kind) in expected.items():
        channel = build_channel(name, config, ENVIRONMENT)
        assert isinstance(channel, kind) and channel.name == name


# ---------------------------------------------------------------------------- e-mail


def email_channel(
    receiver: SmtpReceiver, *, login: bool = False, timeout: float = 5.0
) -> EmailChannel:
    extra: dict[str, Any] = {"username": SMTP_USER, "password_env": "SMTP_PASSWORD"}
    config = EmailConfig(
        kind="email",
        host="127.0.0.1",
        port=receiver.port,
        sender=SENDER,
        timeout_seconds=timeout,
        **(extra if login else {}),
    )
    return EmailChannel("email", config, ENVIRONMENT)


def test_an_email_arrives_in_utf8_chinese_with_a_message_id_from_its_idempotency_key(
    smtp_receiver: SmtpReceiver,
) -> None:
    """Subject, body and sender's name survive the trip; a resend carries the same
    Message-ID (so it is recognisable), and the receipt is the server's reply to DATA."""
    channel = email_channel(smtp_receiver)
    first = channel.send(message(EMAIL))
    again = channel.send(message(EMAIL))
    other = channel.send(message(EMAIL, idempotency_key="another-key"))

    mails = smtp_receiver.messages
    assert len(mails) == 3
    got = mails[0]
    assert got.mail_from == "noreply@gaohang.example" and got.rcpt_tos == [EMAIL]
    assert got.message["Subject"] == TITLE
    assert got.message["From"].addresses[0].display_name == "高行镇城运中心"
    assert got.body.strip() == BODY
    assert got.message.get_content_charset() == "utf-8"
    assert mails[1].message["Message-ID"] == got.message["Message-ID"]
    assert mails[2].message["Message-ID"] != got.message["Message-ID"]
    assert got.message["Message-ID"].endswith("@gaohang.example>")
    assert first.provider_id == "2.0.0 Ok: queued as Q0001"
    assert first.detail == {"smtp_code": 250, "message_id": got.message["Message-ID"]}
    assert again.provider_id != first.provider_id and other.provider_id


def test_an_email_logs_in_with_the_password_its_configuration_names(
    smtp_receiver: SmtpReceiver,
) -> None:
    """The password comes from the named environment variable; a wrong one is permanent."""
    email_channel(smtp_receiver, login=True).send(message(EMAIL))
    assert len(smtp_receiver.messages) == 1

    config = email_channel(smtp_receiver, login=True).config
    wrong = EmailChannel("email", config, {"SMTP_PASSWORD": "not-the-password"})
    with pytest.raises(PermanentFailure) as refused:
        wrong.send(message(EMAIL))
    assert refused.value.detail["stage"] == "AUTH" and refused.value.detail["smtp_code"] == 535
    assert_discreet(refused.value, message(EMAIL), "not-the-password")


@pytest.mark.parametrize(
    ("stage", "reply", "failure", "code", "enhanced"),
    [
        ("RCPT", "450 4.2.1 <zhang.san@example.cn>: mailbox busy", TemporaryFailure, 450, "4.2.1"),
        ("DATA", "451 4.3.0 Try again later", TemporaryFailure, 451, "4.3.0"),
        ("RCPT", "550 5.1.1 <zhang.san@example.cn>: no such user", PermanentFailure, 550, "5.1.1"),
        ("DATA", "554 5.7.1 Message refused", PermanentFailure, 554, "5.7.1"),
    ],
)
def test_an_smtp_4xx_reply_is_temporary_and_a_5xx_reply_is_permanent(
    smtp_receiver: SmtpReceiver,
    stage: str,
    reply: str,
    failure: type[ChannelError],
    code: int,
    enhanced: str,
) -> None:
    """Classified by the reply code; the detail keeps the codes, not the reply's text
    (which, as here, often repeats the recipient's address)."""
    smtp_receiver.fail_next(1, reply, stage="RCPT" if stage == "RCPT" else "DATA")
    sent = message(EMAIL)
    with pytest.raises(failure) as refused:
        email_channel(smtp_receiver).send(sent)
    assert refused.value.detail == {"stage": stage, "smtp_code": code, "enhanced_status": enhanced}
    assert_discreet(refused.value, sent)
    assert smtp_receiver.messages == []
    email_channel(smtp_receiver).send(sent)  # only the next one was refused
    assert len(smtp_receiver.messages) == 1


def test_an_smtp_server_down_or_silent_is_a_temporary_failure(
    smtp_receiver: SmtpReceiver,
) -> None:
    """A refused connection and a server that does not answer in time: try again later."""
    down = EmailConfig(kind="email", host="127.0.0.1", port=free_port(), sender=SENDER)
    with pytest.raises(TemporaryFailure) as unreachable:
        EmailChannel("email", down, ENVIRONMENT).send(message(EMAIL))
    assert unreachable.value.detail["error"] == "ConnectionRefusedError"

    smtp_receiver.slow_seconds = SLOW
    started = time.monotonic()
    with pytest.raises(TemporaryFailure) as silent:
        email_channel(smtp_receiver, timeout=TIMEOUT).send(message(EMAIL))
    assert time.monotonic() - started < SLOW
    assert silent.value.detail == {"stage": "session", "error": "timeout"}
    assert_discreet(silent.value, message(EMAIL))


def test_a_missing_smtp_password_variable_is_permanent_and_named(
    smtp_receiver: SmtpReceiver,
) -> None:
    """Named, so the operator knows what to set; the session is not even opened."""
    config = email_channel(smtp_receiver, login=True).config
    with pytest.raises(PermanentFailure) as missing:
        EmailChannel("email", config, {}).send(message(EMAIL))
    assert "SMTP_PASSWORD" in str(missing.value)
    assert missing.value.detail == {"missing_env": "SMTP_PASSWORD"}
    assert smtp_receiver.messages == []


def test_an_email_without_an_address_is_permanent(smtp_receiver: SmtpReceiver) -> None:
    """Nobody to send to: retrying will not find one."""
    with pytest.raises(PermanentFailure):
        email_channel(smtp_receiver).send(message(""))


# ---------------------------------------------------------------------------- WeCom bot


def wecom(receiver: HttpReceiver, **settings: Any) -> WeComBot:
    settings.setdefault("url", receiver.wecom_url)
    return WeComBot("ops_group", WeComBotConfig(kind="wecom_bot", **settings))


def test_a_wecom_bot_posts_the_title_and_body_as_markdown_or_as_text(
    http_receiver: HttpReceiver,
) -> None:
    """Markdown by default (the title as a heading); plain text when configured."""
    receipt = wecom(http_receiver).send(message())
    wecom(http_receiver, msgtype="text").send(message())

    markdown, text = (r.json() for r in http_receiver.received)
    assert markdown == {"msgtype": "markdown", "markdown": {"content": f"### {TITLE}\n\n{BODY}"}}
    assert text == {"msgtype": "text", "text": {"content": f"{TITLE}\n{BODY}"}}
    assert receipt.provider_id is None and receipt.detail == {"errcode": 0}


def test_a_wecom_message_too_long_is_cut_within_the_documented_4096_bytes(
    http_receiver: HttpReceiver,
) -> None:
    """WeCom refuses longer markdown (40058) forever; a cut message still says the point."""
    wecom(http_receiver).send(message(body="长" * 3000))
    content = http_receiver.received[0].json()["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096 and content.endswith("…")


@pytest.mark.parametrize(
    ("answer", "failure", "retry_after", "detail"),
    [
        (wecom_error(45009), TemporaryFailure, 60.0, {"errcode": 45009}),  # rate limit
        (wecom_error(93000), PermanentFailure, None, {"errcode": 93000}),  # invalid webhook
        (wecom_error(93004), PermanentFailure, None, {"errcode": 93004}),
        (wecom_error(40058), PermanentFailure, None, {"errcode": 40058}),
        (http_error(503, "7"), TemporaryFailure, 7.0, {"http_status": 503}),
        (http_error(429), TemporaryFailure, None, {"http_status": 429}),
        (http_error(404), PermanentFailure, None, {"http_status": 404}),
        (Answer(200, "<html>proxy</html>"), TemporaryFailure, None, {"http_status": 200}),
    ],
)
def test_a_wecom_rate_limit_or_5xx_is_temporary_and_a_bad_webhook_is_permanent(
    http_receiver: HttpReceiver,
    answer: Answer,
    failure: type[ChannelError],
    retry_after: float | None,
    detail: dict[str, Any],
) -> None:
    """The worker retries the first kind (after ``retry_after`` when given), never the other;
    the failure shows the provider's code, never the text or the webhook's key."""
    http_receiver.fail_next("wecom", 1, answer)
    sent = message()
    with pytest.raises(failure) as refused:
        wecom(http_receiver).send(sent)
    assert detail.items() <= refused.value.detail.items()
    if isinstance(refused.value, TemporaryFailure):
        assert refused.value.retry_after == retry_after
    assert_discreet(refused.value, sent, http_receiver.wecom_key)


def test_a_wecom_webhook_with_a_wrong_key_is_permanent(http_receiver: HttpReceiver) -> None:
    """The stand-in checks the key like WeCom: 93000, invalid webhook URL."""
    url = http_receiver.wecom_url.replace(http_receiver.wecom_key, "revoked-key")
    with pytest.raises(PermanentFailure) as refused:
        wecom(http_receiver, url=url).send(message())
    assert refused.value.detail == {"errcode": 93000}
    assert_discreet(refused.value, message(), "revoked-key")


def test_a_wecom_bot_that_does_not_answer_in_time_is_a_temporary_failure(
    http_receiver: HttpReceiver,
) -> None:
    """The request may have gone through: the worker decides, the channel only reports."""
    http_receiver.slow_seconds = SLOW
    started = time.monotonic()
    with pytest.raises(TemporaryFailure) as late:
        wecom(http_receiver, timeout_seconds=TIMEOUT).send(message())
    assert time.monotonic() - started < SLOW
    assert late.value.detail == {"error": "timeout"}


# ---------------------------------------------------------------------------- Feishu bot


FEISHU_SECRET = "feishu-test-secret"


def feishu(
    receiver: HttpReceiver, environment: dict[str, str] | None = None, **settings: Any
) -> FeishuBot:
    settings.setdefault("url", receiver.feishu_url)
    config = FeishuBotConfig(kind="feishu_bot", **settings)
    return FeishuBot("duty", config, ENVIRONMENT if environment is None else environment)


def test_a_feishu_bot_posts_rich_text_with_the_title_and_signs_when_it_has_a_secret(
    http_receiver: HttpReceiver,
) -> None:
    """签名校验: ``timestamp`` (s) and ``sign`` = base64(HMAC-SHA256(key=ts + "\\n" + secret,
    message=b"")) in the body, checked by the stand-in."""
    receipt = feishu(http_receiver).send(message())
    unsigned = http_receiver.received[0].json()
    assert unsigned["msg_type"] == "post" and "sign" not in unsigned
    post = unsigned["content"]["post"]["zh_cn"]
    assert post["title"] == TITLE and post["content"][0] == [{"tag": "text", "text": BODY}]
    assert receipt.detail == {"code": 0}
    http_receiver.feishu_secret = FEISHU_SECRET
    feishu(http_receiver, {"FEISHU_SECRET": FEISHU_SECRET}, secret_env="FEISHU_SECRET").send(
        message()
    )
    assert http_receiver.received[1].verified is True


def test_a_feishu_rate_limit_is_temporary_and_a_bad_signature_permanent(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.fail_next("feishu", 1, feishu_error(11232))
    with pytest.raises(TemporaryFailure) as limited:
        feishu(http_receiver).send(message())
    assert limited.value.retry_after == 60.0 and limited.value.detail == {"code": 11232}
    http_receiver.feishu_secret = FEISHU_SECRET
    bot = feishu(http_receiver, {"FEISHU_SECRET": "old"}, secret_env="FEISHU_SECRET")
    with pytest.raises(PermanentFailure) as refused:
        bot.send(message())
    assert refused.value.detail == {"code": 19021}
    assert_discreet(refused.value, message(), "old", FEISHU_SECRET)


# ---------------------------------------------------------------------------- DingTalk bot


def dingtalk(
    receiver: HttpReceiver, environment: dict[str, str] | None = None, **settings: Any
) -> DingTalkBot:
    settings.setdefault("url", receiver.dingtalk_url)
    config = DingTalkBotConfig(kind="dingtalk_bot", **settings)
    return DingTalkBot("duty", config, ENVIRONMENT if environment is None else environment)


def test_a_dingtalk_bot_posts_markdown_with_the_title_unsigned_without_a_secret(
    http_receiver: HttpReceiver,
) -> None:
    """The title is the notification's preview, the text what the group reads."""
    receipt = dingtalk(http_receiver).send(message())
    got = http_receiver.received[0]
    assert got.json() == {
        "msgtype": "markdown",
        "markdown": {"title": TITLE, "text": f"### {TITLE}\n\n{BODY}"},
    }
    assert "sign" not in got.query and got.verified is None
    assert receipt.detail == {"errcode": 0}


def test_a_dingtalk_bot_with_a_secret_signs_each_request_as_dingtalk_documents(
    http_receiver: HttpReceiver,
) -> None:
    """加签: ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret, ts + "\\n" + secret)),
    checked by the stand-in; the token stays in the URL beside them."""
    http_receiver.dingtalk_secret = DINGTALK_SECRET
    dingtalk(http_receiver, secret_env="DINGTALK_SECRET").send(message())
    got = http_receiver.received[0]
    assert got.verified is True
    assert got.query["access_token"] == http_receiver.dingtalk_token
    expected = hmac.new(
        DINGTALK_SECRET.encode(),
        f"{got.query['timestamp']}\n{DINGTALK_SECRET}".encode(),
        hashlib.sha256,
    ).digest()
    assert base64.b64decode(got.query["sign"]) == expected


def test_a_dingtalk_signature_with_the_wrong_secret_is_permanent(
    http_receiver: HttpReceiver,
) -> None:
    """310000 (sign, keyword or IP check failed): the configuration must change first."""
    http_receiver.dingtalk_secret = DINGTALK_SECRET
    bot = dingtalk(
        http_receiver, {"DINGTALK_SECRET": "SEC-old-secret"}, secret_env="DINGTALK_SECRET"
    )
    with pytest.raises(PermanentFailure) as refused:
        bot.send(message())
    assert refused.value.detail == {"errcode": 310000}
    assert http_receiver.received[0].verified is False
    assert_discreet(refused.value, message(), "SEC-old-secret", DINGTALK_SECRET)


def test_a_missing_dingtalk_secret_variable_is_permanent_and_nothing_is_sent(
    http_receiver: HttpReceiver,
) -> None:
    """An unsigned request to a signing bot would only be refused: fail before sending."""
    with pytest.raises(PermanentFailure) as missing:
        dingtalk(http_receiver, {}, secret_env="DINGTALK_SECRET").send(message())
    assert "DINGTALK_SECRET" in str(missing.value)
    assert missing.value.detail == {"missing_env": "DINGTALK_SECRET"}
    assert http_receiver.received == []


@pytest.mark.parametrize(
    ("answer", "failure", "retry_after", "detail"),
    [
        (dingtalk_error(130101), TemporaryFailure, 60.0, {"errcode": 130101}),  # too fast
        (dingtalk_error(310000), PermanentFailure, None, {"errcode": 310000}),
        (dingtalk_error(300001), PermanentFailure, None, {"errcode": 300001}),
        (http_error(502), TemporaryFailure, None, {"http_status": 502}),
        (http_error(429, "120"), TemporaryFailure, 120.0, {"http_status": 429}),
        (http_error(403), PermanentFailure, None, {"http_status": 403}),
    ],
)
def test_a_dingtalk_rate_limit_or_5xx_is_temporary_and_a_failed_check_is_permanent(
    http_receiver: HttpReceiver,
    answer: Answer,
    failure: type[ChannelError],
    retry_after: float | None,
    detail: dict[str, Any],
) -> None:
    """Same rules as WeCom's, with DingTalk's codes."""
    http_receiver.fail_next("dingtalk", 1, answer)
    sent = message()
    with pytest.raises(failure) as refused:
        dingtalk(http_receiver).send(sent)
    assert refused.value.detail == detail
    if isinstance(refused.value, TemporaryFailure):
        assert refused.value.retry_after == retry_after
    assert_discreet(refused.value, sent, http_receiver.dingtalk_token)


def test_a_dingtalk_bot_that_does_not_answer_in_time_is_a_temporary_failure(
    http_receiver: HttpReceiver,
) -> None:
    """A timeout is temporary, like WeCom's."""
    http_receiver.slow_seconds = SLOW
    with pytest.raises(TemporaryFailure) as late:
        dingtalk(http_receiver, timeout_seconds=TIMEOUT).send(message())
    assert late.value.detail == {"error": "timeout"}


def test_a_dingtalk_bot_that_cannot_be_reached_is_a_temporary_failure() -> None:
    """Nothing listening: a network error, worth trying again."""
    url = f"http://127.0.0.1:{free_port()}/robot/send?access_token=t"
    bot = DingTalkBot("duty", DingTalkBotConfig(kind="dingtalk_bot", url=url), ENVIRONMENT)
    with pytest.raises(TemporaryFailure) as unreachable:
        bot.send(message())
    assert unreachable.value.detail == {"error": "ConnectError"}
    assert "t" not in unreachable.value.detail.values()


# ---------------------------------------------------------------------------- Aliyun SMS


def aliyun(
    receiver: HttpReceiver, environment: dict[str, str] | None = None, **settings: Any
) -> AliyunSms:
    config = AliyunSmsConfig(
        kind="aliyun_sms",
        endpoint=receiver.aliyun_endpoint,
        access_key_id_env="ALIYUN_ID",
        access_key_secret_env="ALIYUN_SECRET",
        sign_name="高行镇城运中心",
        template_code="SMS_465890001",
        **settings,
    )
    return AliyunSms("sms", config, ENVIRONMENT if environment is None else environment)


def test_the_aliyun_signature_matches_aliyuns_documented_example() -> None:
    """The worked example of Aliyun's RPC signature documentation (secret ``testsecret``)."""
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_an_aliyun_sms_sends_the_template_with_its_parameters_to_the_bare_number(
    http_receiver: HttpReceiver,
) -> None:
    """Signed (checked by the stand-in), the template's variables as a JSON object in UTF-8,
    the mainland number without +86; the receipt is Aliyun's BizId."""
    channel = aliyun(http_receiver)
    receipt = channel.send(message("+86 138-0013-8000"))
    channel.send(message(PHONE))  # a second request: a fresh nonce, or Aliyun refuses it

    first, second = http_receiver.received
    assert first.verified is True and second.verified is True
    form = first.form()
    assert form["PhoneNumbers"] == PHONE
    assert json.loads(form["TemplateParam"]) == {
        "case_id": "1024",
        "left": "4小时",
        "due_at": "18:00",
    }
    assert form["SignName"] == "高行镇城运中心" and form["TemplateCode"] == "SMS_465890001"
    assert form["OutId"] == message().idempotency_key
    assert form["SignatureNonce"] != second.form()["SignatureNonce"]
    assert receipt.provider_id == "900619746936498440^0" and receipt.detail["code"] == "OK"


def test_an_aliyun_request_signed_with_the_wrong_secret_is_permanent(
    http_receiver: HttpReceiver,
) -> None:
    """SignatureDoesNotMatch: the stand-in recomputes the signature and refuses it."""
    wrong = {**ENVIRONMENT, "ALIYUN_SECRET": "an-old-secret"}
    with pytest.raises(PermanentFailure) as refused:
        aliyun(http_receiver, wrong).send(message(PHONE))
    assert refused.value.detail["code"] == "SignatureDoesNotMatch"
    assert http_receiver.received[0].verified is False
    assert_discreet(refused.value, message(PHONE), "an-old-secret")


@pytest.mark.parametrize(
    ("answer", "failure", "retry_after"),
    [
        (aliyun_error("isv.BUSINESS_LIMIT_CONTROL"), TemporaryFailure, 60.0),
        (aliyun_error("Throttling.User", 400), TemporaryFailure, 60.0),
        (aliyun_error("isv.MOBILE_NUMBER_ILLEGAL"), PermanentFailure, None),
        (aliyun_error("isv.SMS_TEMPLATE_ILLEGAL"), PermanentFailure, None),
        (aliyun_error("isv.SMS_SIGNATURE_ILLEGAL"), PermanentFailure, None),
        (aliyun_error("InvalidAccessKeyId.NotFound", 404), PermanentFailure, None),
        (aliyun_error("SignatureDoesNotMatch", 400), PermanentFailure, None),
        (http_error(503, "30"), TemporaryFailure, 30.0),
    ],
)
def test_an_aliyun_rate_limit_is_temporary_and_a_bad_number_template_or_key_is_permanent(
    http_receiver: HttpReceiver,
    answer: Answer,
    failure: type[ChannelError],
    retry_after: float | None,
) -> None:
    """Classified by Aliyun's ``Code``; the detail has the code and the request id only."""
    http_receiver.fail_next("aliyun", 1, answer)
    sent = message(PHONE)
    with pytest.raises(failure) as refused:
        aliyun(http_receiver).send(sent)
    if isinstance(answer.body, dict) and "Code" in answer.body:
        assert refused.value.detail["code"] == answer.body["Code"]
        assert refused.value.detail["request_id"] == answer.body["RequestId"]
    if isinstance(refused.value, TemporaryFailure):
        assert refused.value.retry_after == retry_after
    assert_discreet(refused.value, sent, ENVIRONMENT["ALIYUN_SECRET"])


@pytest.mark.parametrize("missing", ["ALIYUN_ID", "ALIYUN_SECRET"])
def test_a_missing_aliyun_key_variable_is_permanent_and_named(
    http_receiver: HttpReceiver, missing: str
) -> None:
    """Either half of the AccessKey: named, and nothing sent."""
    environment = {k: v for k, v in ENVIRONMENT.items() if k != missing}
    with pytest.raises(PermanentFailure) as refused:
        aliyun(http_receiver, environment).send(message(PHONE))
    assert missing in str(refused.value) and refused.value.detail == {"missing_env": missing}
    assert http_receiver.received == []


def test_an_aliyun_gateway_that_does_not_answer_in_time_is_a_temporary_failure(
    http_receiver: HttpReceiver,
) -> None:
    """A timeout is temporary."""
    http_receiver.slow_seconds = SLOW
    with pytest.raises(TemporaryFailure) as late:
        aliyun(http_receiver, timeout_seconds=TIMEOUT).send(message(PHONE))
    assert late.value.detail == {"error": "timeout"}
    assert_discreet(late.value, message(PHONE))


def test_an_sms_without_a_number_is_permanent(http_receiver: HttpReceiver) -> None:
    """Nobody to send to, for either gateway; nothing is sent."""
    with pytest.raises(PermanentFailure):
        aliyun(http_receiver).send(message(""))
    with pytest.raises(PermanentFailure):
        tencent(http_receiver).send(message(""))
    assert http_receiver.received == []


# ---------------------------------------------------------------------------- Tencent SMS


def tencent(
    receiver: HttpReceiver, environment: dict[str, str] | None = None, **settings: Any
) -> TencentSms:
    config = TencentSmsConfig(
        kind="tencent_sms",
        endpoint=receiver.tencent_endpoint,
        secret_id_env="TENCENT_ID",
        secret_key_env="TENCENT_KEY",
        sdk_app_id="1400006666",
        sign_name="高行镇城运中心",
        template_id="1110001",
        **settings,
    )
    return TencentSms("sms_tc", config, ENVIRONMENT if environment is None else environment)


def test_a_tencent_sms_sends_the_template_parameters_in_order_to_the_plus_86_number(
    http_receiver: HttpReceiver,
) -> None:
    """TC3-signed (checked by the stand-in); TemplateParamSet is the parameters' values in
    the order written ({1}, {2} …); a number without a country code gets +86."""
    receipt = tencent(http_receiver).send(message(PHONE))
    got = http_receiver.received[0]
    assert got.verified is True
    assert got.headers["x-tc-region"] == "ap-guangzhou"
    assert got.json() == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": "1400006666",
        "SignName": "高行镇城运中心",
        "TemplateId": "1110001",
        "TemplateParamSet": ["1024", "4小时", "18:00"],
        "SessionContext": message().idempotency_key,
    }
    assert receipt.provider_id == "2640:542910000000000000000000"
    assert receipt.detail["code"] == "Ok"


def test_a_tencent_number_with_a_country_code_keeps_it(http_receiver: HttpReceiver) -> None:
    """A Hong Kong number stays +852; 0086 becomes +86."""
    tencent(http_receiver).send(message("+852 6123 4567"))
    tencent(http_receiver).send(message("0086" + PHONE))
    numbers = [r.json()["PhoneNumberSet"] for r in http_receiver.received]
    assert numbers == [["+85261234567"], ["+8613800138000"]]


def test_a_tencent_request_signed_with_the_wrong_key_is_permanent(
    http_receiver: HttpReceiver,
) -> None:
    """AuthFailure.SignatureFailure (an ``Error`` answer): the stand-in recomputes it."""
    wrong = {**ENVIRONMENT, "TENCENT_KEY": "an-old-key"}
    with pytest.raises(PermanentFailure) as refused:
        tencent(http_receiver, wrong).send(message(PHONE))
    assert refused.value.detail["code"] == "AuthFailure.SignatureFailure"
    assert http_receiver.received[0].verified is False
    assert_discreet(refused.value, message(PHONE), "an-old-key")


@pytest.mark.parametrize(
    ("answer", "failure", "retry_after"),
    [
        (tencent_status("LimitExceeded.PhoneNumberThirtySecondLimit"), TemporaryFailure, 60.0),
        (tencent_error("RequestLimitExceeded"), TemporaryFailure, 60.0),
        (tencent_error("InternalError"), TemporaryFailure, None),
        (tencent_status("FailedOperation.TemplateIncorrectOrUnapproved"), PermanentFailure, None),
        (tencent_status("InvalidParameterValue.IncorrectPhoneNumber"), PermanentFailure, None),
        (tencent_error("FailedOperation.SignatureIncorrectOrUnapproved"), PermanentFailure, None),
        (tencent_error("AuthFailure.SecretIdNotFound"), PermanentFailure, None),
        (http_error(502), TemporaryFailure, None),
    ],
)
def test_a_tencent_limit_is_temporary_and_a_bad_template_number_or_key_is_permanent(
    http_receiver: HttpReceiver,
    answer: Answer,
    failure: type[ChannelError],
    retry_after: float | None,
) -> None:
    """Classified by the ``Error`` code if any, else by the number's status code."""
    http_receiver.fail_next("tencent", 1, answer)
    sent = message(PHONE)
    with pytest.raises(failure) as refused:
        tencent(http_receiver).send(sent)
    if isinstance(answer.body, dict) and "Response" in answer.body:
        response = answer.body["Response"]
        expected = response["Error"] if "Error" in response else response["SendStatusSet"][0]
        assert refused.value.detail["code"] == expected["Code"]
    if isinstance(refused.value, TemporaryFailure):
        assert refused.value.retry_after == retry_after
    assert_discreet(refused.value, sent, "+86" + PHONE, ENVIRONMENT["TENCENT_KEY"])


@pytest.mark.parametrize("missing", ["TENCENT_ID", "TENCENT_KEY"])
def test_a_missing_tencent_key_variable_is_permanent_and_named(
    http_receiver: HttpReceiver, missing: str
) -> None:
    """Either half of the key pair: named, and nothing sent."""
    environment = {k: v for k, v in ENVIRONMENT.items() if k != missing}
    with pytest.raises(PermanentFailure) as refused:
        tencent(http_receiver, environment).send(message(PHONE))
    assert missing in str(refused.value) and refused.value.detail == {"missing_env": missing}
    assert http_receiver.received == []


def test_a_tencent_gateway_that_does_not_answer_in_time_is_a_temporary_failure(
    http_receiver: HttpReceiver,
) -> None:
    """A timeout is temporary."""
    http_receiver.slow_seconds = SLOW
    with pytest.raises(TemporaryFailure) as late:
        tencent(http_receiver, timeout_seconds=TIMEOUT).send(message(PHONE))
    assert late.value.detail == {"error": "timeout"}


# ---------------------------------------------------------------------------- in-app


def test_an_inapp_message_is_delivered_by_being_the_row() -> None:
    """站内信: the bell reads the outbox row, so sending only acknowledges it."""
    receipt = InAppChannel("inapp").send(message())
    assert receipt.provider_id is None and receipt.detail == {"inapp": True}
