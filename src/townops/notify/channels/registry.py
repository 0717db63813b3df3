"""From a channel's configuration to the object that sends through it.

``build_channel`` is the one place that knows which class serves which ``kind``. The
environment holding the secrets is a parameter (``os.environ`` by default) so tests give a
plain dict instead of changing the process's environment.
"""

from __future__ import annotations

import os
from typing import assert_never

from townops.notify.channels.base import Channel
from townops.notify.channels.config import (
    AliyunSmsConfig,
    ChannelConfig,
    DingTalkBotConfig,
    EmailConfig,
    FeishuBotConfig,
    InAppConfig,
    TencentSmsConfig,
    WeComBotConfig,
)
from townops.notify.channels.email import EmailChannel
from townops.notify.channels.environment import Environment
from townops.notify.channels.inapp import InAppChannel
from townops.notify.channels.sms import AliyunSms, TencentSms
from townops.notify.channels.webhooks import DingTalkBot, FeishuBot, WeComBot

__all__ = ["build_channel"]


def build_channel(
    name: str, config: ChannelConfig, environment: Environment | None = None
) -> Channel:
    """The channel ``name`` configured by ``config``; secrets read from ``environment``."""
    # os.environ itself, not a copy: secrets are read at send time.
    env: Environment = os.environ if environment is None else environment
    match config:
        case EmailConfig():
            return EmailChannel(name, config, env)
        case WeComBotConfig():
            return WeComBot(name, config)
        case DingTalkBotConfig():
            return DingTalkBot(name, config, env)
        case FeishuBotConfig():
            return FeishuBot(name, config, env)
        case AliyunSmsConfig():
            return AliyunSms(name, config, env)
        case TencentSmsConfig():
            return TencentSms(name, config, env)
        case InAppConfig():
            return InAppChannel(name)
    assert_never(config)
