"""Group robots (群机器人): WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) webhooks.

A group bot posts into one chat group, so a message's ``address`` is unused: the group is
the channel's URL (which holds the bot's key). Both answer HTTP 200 with a JSON
``errcode``: 0 is delivered; a rate limit is worth trying again a minute later; an invalid,
removed or unsigned webhook is not. Network trouble, a timeout, 429 and 5xx are temporary
(:mod:`townops.notify.channels._http`). The bots give no message id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from townops.notify.channels import _http
from townops.notify.channels.base import Message, PermanentFailure, Receipt, TemporaryFailure
from townops.notify.channels.config import DingTalkBotConfig, FeishuBotConfig, WeComBotConfig
from townops.notify.channels.environment import Environment, secret

__all__ = ["DingTalkBot", "FeishuBot", "WeComBot", "dingtalk_signature", "feishu_signature"]

_JSON = {"Content-Type": "application/json; charset=utf-8"}

# WeCom: 45009 "api freq out of limit" (20 messages a minute per bot); -1 "system busy".
_WECOM_TEMPORARY: dict[int, float | None] = {45009: 60.0, -1: None}
# Documented sizes, in UTF-8 bytes: longer content is refused (40058), so it is cut.
_WECOM_LIMITS = {"markdown": 4096, "text": 2048}

# DingTalk: 130101 "send too fast" (20 a minute per robot); -1 "system busy".
_DINGTALK_TEMPORARY: dict[int, float | None] = {130101: 60.0, -1: None}
_DINGTALK_LIMIT = 20000

# Feishu: 11232 "frequency limited" (100 a minute, 5 a second per bot); a request body of
# at most 20 KB, so the text is cut well inside it.
_FEISHU_TEMPORARY: dict[int, float | None] = {11232: 60.0}
_FEISHU_LIMIT = 18000


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes, cut on a character with an ellipsis."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", errors="ignore") + "…"


def _markdown(message: Message) -> str:
    """The title as a heading over the body (the chat shows the text, not the title)."""
    return f"### {message.title}\n\n{message.body}" if message.title else message.body


def _plain(message: Message) -> str:
    return f"{message.title}\n{message.body}" if message.title else message.body


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _bot_answer(
    response: httpx.Response,
    provider: str,
    temporary: dict[int, float | None],
    keys: tuple[str, ...] = ("errcode",),
) -> Receipt:
    """Read a bot's ``{"errcode": …}`` answer (Feishu's ``code``, older Feishu bots'
    ``StatusCode``: ``keys``, the first found): a receipt, or the failure it means."""
    _http.fail_on_status(response)
    answer = _http.json_object(response) or {}
    code = next((answer[key] for key in keys if key in answer), None)
    if not isinstance(code, int):
        raise _http.unreadable(response)
    detail = {keys[0]: code}
    if code == 0:
        return Receipt(provider_id=None, detail=detail)
    if code in temporary:
        raise TemporaryFailure(
            f"{provider} answered {keys[0]} {code}", retry_after=temporary[code], detail=detail
        )
    # e.g. WeCom 93000 (invalid webhook), DingTalk 310000 (sign/keyword/IP check failed),
    # 300001 (unknown token), Feishu 19021 (sign match fail), 19024 (keyword check failed):
    # the configuration must change first.
    raise PermanentFailure(f"{provider} answered {keys[0]} {code}", detail=detail)


class WeComBot:
    """A WeCom group robot (企业微信群机器人): markdown (default) or plain text."""

    def __init__(self, name: str, config: WeComBotConfig) -> None:
        self.name = name
        self.config = config

    def payload(self, message: Message) -> dict[str, Any]:
        kind = self.config.msgtype
        text = _markdown(message) if kind == "markdown" else _plain(message)
        return {"msgtype": kind, kind: {"content": _cut(text, _WECOM_LIMITS[kind])}}

    def send(self, message: Message) -> Receipt:
        response = _http.post(
            self.config.url,
            timeout=self.config.timeout_seconds,
            content=_encode(self.payload(message)),
            headers=_JSON,
        )
        return _bot_answer(response, "WeCom", _WECOM_TEMPORARY)


def dingtalk_signature(secret_value: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))."""
    string_to_sign = f"{timestamp_ms}\n{secret_value}".encode()
    digest = hmac.new(secret_value.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkBot:
    """A DingTalk group robot (钉钉群机器人), signed (加签) when ``secret_env`` is set."""

    def __init__(self, name: str, config: DingTalkBotConfig, environment: Environment) -> None:
        self.name = name
        self.config = config
        self.environment = environment

    def payload(self, message: Message) -> dict[str, Any]:
        title = message.title or message.body[:20]
        text = _cut(_markdown(message), _DINGTALK_LIMIT)
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}

    def send(self, message: Message) -> Receipt:
        # Read before anything is sent: a missing secret fails without a request.
        secret_value = (
            secret(self.environment, self.config.secret_env) if self.config.secret_env else None
        )
        response = _http.post(
            self.config.url,
            timeout=self.config.timeout_seconds,
            content=_encode(self.payload(message)),
            headers=_JSON,
            sign=None if secret_value is None else _dingtalk_signer(secret_value),
        )
        return _bot_answer(response, "DingTalk", _DINGTALK_TEMPORARY)


def _dingtalk_signer(secret_value: str) -> _http.Signer:
    """Adds ``timestamp`` (ms) and ``sign`` to the query; DingTalk allows an hour's skew."""

    def sign(request: httpx.Request) -> None:
        timestamp_ms = int(time.time() * 1000)
        signature = dingtalk_signature(secret_value, timestamp_ms)
        request.url = request.url.copy_merge_params(
            {"timestamp": str(timestamp_ms), "sign": signature}
        )

    return sign


def feishu_signature(secret_value: str, timestamp_s: int) -> str:
    """Feishu's 签名校验: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", message=b"")).

    Unlike DingTalk, the string is the *key* and the message is empty, and the timestamp is
    in seconds."""
    key = f"{timestamp_s}\n{secret_value}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuBot:
    """A Feishu custom robot (飞书自定义机器人): a rich-text post with the title, signed
    (签名校验: ``timestamp`` and ``sign`` in the JSON body) when ``secret_env`` is set."""

    def __init__(self, name: str, config: FeishuBotConfig, environment: Environment) -> None:
        self.name = name
        self.config = config
        self.environment = environment

    def payload(self, message: Message, *, signed: tuple[int, str] | None = None) -> dict[str, Any]:
        lines = _cut(message.body, _FEISHU_LIMIT).split("\n")
        post = {
            "zh_cn": {
                "title": message.title,
                "content": [[{"tag": "text", "text": line}] for line in lines],
            }
        }
        payload: dict[str, Any] = {"msg_type": "post", "content": {"post": post}}
        if signed is not None:
            payload["timestamp"], payload["sign"] = str(signed[0]), signed[1]
        return payload

    def send(self, message: Message) -> Receipt:
        # Read before anything is sent: a missing secret fails without a request.
        secret_value = (
            secret(self.environment, self.config.secret_env) if self.config.secret_env else None
        )
        signed = None
        if secret_value is not None:
            now = int(time.time())
            signed = (now, feishu_signature(secret_value, now))
        response = _http.post(
            self.config.url,
            timeout=self.config.timeout_seconds,
            content=_encode(self.payload(message, signed=signed)),
            headers=_JSON,
        )
        return _bot_answer(response, "Feishu", _FEISHU_TEMPORARY, ("code", "StatusCode"))
