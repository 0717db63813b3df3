"""How a channel (通知渠道) is configured in ``notifications.yaml``: one model per kind.

``ChannelConfig`` is a union discriminated on ``kind``: ``email`` (SMTP), ``wecom_bot``
(企业微信群机器人), ``dingtalk_bot`` (钉钉群机器人), ``feishu_bot`` (飞书自定义机器人),
``aliyun_sms`` (阿里云短信),
``tencent_sms`` (腾讯云短信) and ``inapp`` (站内信). Secrets (an SMTP password, a signing
secret, cloud access keys) are never in the YAML: the model holds the *name* of the
environment variable, and the channel reads it when it sends, so a rotated secret needs no
reload and a missing one fails that message permanently, naming the variable.

A group bot's webhook URL does carry its key; validation errors hide the input (the models'
and ``parse_channel_config``'s) so the key is not copied into a log by a typo in the URL.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

__all__ = [
    "AliyunSmsConfig",
    "ChannelConfig",
    "DingTalkBotConfig",
    "EmailConfig",
    "FeishuBotConfig",
    "InAppConfig",
    "TencentSmsConfig",
    "WeComBotConfig",
    "parse_channel_config",
]

#: The name of an environment variable (never its value).
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
#: Seconds a provider gets to answer; beyond, the worker tries again later.
Timeout = Annotated[float, Field(gt=0, le=120)]


class _ChannelModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_http_url(value: str, field: str) -> None:
    """Raise unless ``value`` is an absolute http(s) URL (the message names the field only)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{field} must be an http:// or https:// URL with a host")


class _HttpChannelModel(_ChannelModel):
    """A channel reached over HTTP: every ``url``/``endpoint`` field is http(s)."""

    # The webhook URL holds the bot's key: a validation error must not repeat it.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    @model_validator(mode="after")
    def _http_urls(self) -> _HttpChannelModel:
        for field in ("url", "endpoint"):
            value = getattr(self, field, None)
            if isinstance(value, str):
                _check_http_url(value, field)
        return self


class EmailConfig(_ChannelModel):
    """An SMTP server (e-mail). ``sender`` may carry a display name: ``高行镇 <a@b.cn>``."""

    kind: Literal["email"]
    host: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    sender: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    starttls: bool = False
    username: str | None = None
    password_env: EnvName | None = None
    timeout_seconds: Timeout = 10

    @model_validator(mode="after")
    def _sender_and_login(self) -> EmailConfig:
        _, address = parseaddr(self.sender)
        local, at, domain = address.rpartition("@")
        if not (local and at and domain) or any(c.isspace() for c in address):
            raise ValueError("sender must be an e-mail address, optionally 'Name <address>'")
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together (both or neither)")
        return self

    @property
    def sender_address(self) -> str:
        """The bare address of ``sender`` (the SMTP envelope's MAIL FROM)."""
        return parseaddr(self.sender)[1]


class WeComBotConfig(_HttpChannelModel):
    """A WeCom group robot (企业微信群机器人): its webhook URL, key included."""

    kind: Literal["wecom_bot"]
    url: str
    msgtype: Literal["markdown", "text"] = "markdown"
    timeout_seconds: Timeout = 10


class DingTalkBotConfig(_HttpChannelModel):
    """A DingTalk group robot (钉钉群机器人); ``secret_env`` when it signs (加签)."""

    kind: Literal["dingtalk_bot"]
    url: str
    secret_env: EnvName | None = None
    timeout_seconds: Timeout = 10


class FeishuBotConfig(_HttpChannelModel):
    """A Feishu group robot (飞书自定义机器人); ``secret_env`` when it signs (签名校验)."""

    kind: Literal["feishu_bot"]
    url: str
    secret_env: EnvName | None = None
    timeout_seconds: Timeout = 10


class AliyunSmsConfig(_HttpChannelModel):
    """Alibaba Cloud SMS (阿里云短信, dysmsapi 2017-05-25): 签名 and 模板CODE."""

    kind: Literal["aliyun_sms"]
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    access_key_id_env: EnvName = "ALIBABA_CLOUD_ACCESS_KEY_ID"
    access_key_secret_env: EnvName = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
    sign_name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    template_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    timeout_seconds: Timeout = 10
    receipt_token_env: EnvName | None = None
    """The token the delivery reports (短信回执, HTTP 批量推送) must carry in their URL:
    POST /api/v1/notifications/receipts/<channel>?token=…; none: reports are refused."""


class TencentSmsConfig(_HttpChannelModel):
    """Tencent Cloud SMS (腾讯云短信, SendSms 2021-01-11): SDK app, 签名 and 模板ID."""

    kind: Literal["tencent_sms"]
    endpoint: str = "https://sms.tencentcloudapi.com/"
    secret_id_env: EnvName = "TENCENTCLOUD_SECRET_ID"
    secret_key_env: EnvName = "TENCENTCLOUD_SECRET_KEY"
    sdk_app_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    sign_name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    template_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}-[a-z0-9-]+$")] = "ap-guangzhou"
    timeout_seconds: Timeout = 10
    receipt_token_env: EnvName | None = None
    """The token the status callbacks (短信下发状态回调) must carry in their URL:
    POST /api/v1/notifications/receipts/<channel>?token=…; none: reports are refused."""


class InAppConfig(_ChannelModel):
    """The in-app inbox (站内信): the message row is the delivery; nothing to configure."""

    kind: Literal["inapp"]


ChannelConfig = Annotated[
    EmailConfig
    | WeComBotConfig
    | DingTalkBotConfig
    | FeishuBotConfig
    | AliyunSmsConfig
    | TencentSmsConfig
    | InAppConfig,
    Field(discriminator="kind"),
]

# The members' hide_input_in_errors does not reach a union's errors: the adapter's config
# does. (A model embedding ChannelConfig needs the same setting to hide a bot's key.)
_ADAPTER: TypeAdapter[ChannelConfig] = TypeAdapter(
    ChannelConfig, config=ConfigDict(hide_input_in_errors=True)
)


def parse_channel_config(data: object) -> ChannelConfig:
    """One channel's settings (a YAML mapping) → its model; ``ValidationError`` if wrong."""
    return _ADAPTER.validate_python(data)
