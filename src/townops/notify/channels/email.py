"""E-mail over SMTP (电子邮件): one message, one recipient, one SMTP session.

The session is driven step by step (MAIL, RCPT, DATA) rather than with ``send_message``
so that every refusal is classified by its reply code (4xx: try again later; 5xx: not) and
the receipt is the server's reply to DATA (a relay's "queued as …" names its queue id).
The Message-ID is derived from the idempotency key, so a resend after a lost reply carries
the same id and a mailbox or a relay can tell it is the same message.

Failures carry the stage, the reply code and its enhanced status (``5.1.1``), never the
reply text: a server's refusal often repeats the recipient's address.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import NoReturn

from townops.notify.channels.base import (
    ChannelError,
    Message,
    PermanentFailure,
    Receipt,
    TemporaryFailure,
)
from townops.notify.channels.config import EmailConfig
from townops.notify.channels.environment import Environment, secret

__all__ = ["EmailChannel", "message_id"]

_ENHANCED_STATUS = re.compile(rb"^([245]\.\d{1,3}\.\d{1,3})\b")


def message_id(idempotency_key: str, sender_address: str) -> str:
    """``<notify.{sha256(key)[:32]}@{sender's domain}>``: the same key, the same id."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    domain = sender_address.rpartition("@")[2] or "townops.invalid"
    return f"<notify.{digest}@{domain}>"


def _reply_failure(stage: str, code: int, reply: bytes | str) -> ChannelError:
    """The failure an SMTP reply means: 4xx temporary, anything else permanent."""
    raw = reply.encode("utf-8", "replace") if isinstance(reply, str) else reply
    detail: dict[str, object] = {"stage": stage, "smtp_code": code}
    enhanced = _ENHANCED_STATUS.match(raw.strip())
    if enhanced:
        detail["enhanced_status"] = enhanced.group(1).decode("ascii")
    reason = f"the SMTP server answered {code} to {stage}"
    if 400 <= code < 500:
        return TemporaryFailure(reason, detail=detail)
    return PermanentFailure(reason, detail=detail)


def _error_name(exc: BaseException) -> str:
    """``timeout`` when the server did not answer in time, else the exception's class."""
    # smtplib reports a reply that timed out as SMTPServerDisconnected("… timed out").
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "timeout"
    return type(exc).__name__


def _refused(stage: str, code: int, reply: bytes | str) -> NoReturn:
    raise _reply_failure(stage, code, reply)


class EmailChannel:
    """Sends a message as a UTF-8 e-mail through the configured SMTP server."""

    def __init__(self, name: str, config: EmailConfig, environment: Environment) -> None:
        self.name = name
        self.config = config
        self.environment = environment

    def compose(self, message: Message) -> EmailMessage:
        """The e-mail: UTF-8 subject (RFC 2047) and body (base64, 8-bit clean relays or not)."""
        mail = EmailMessage(policy=SMTP_POLICY)
        mail["From"] = self.config.sender
        mail["To"] = message.address
        mail["Subject"] = message.title
        mail["Message-ID"] = message_id(message.idempotency_key, self.config.sender_address)
        mail.set_content(message.body, charset="utf-8", cte="base64")
        return mail

    def send(self, message: Message) -> Receipt:
        if not message.address:
            raise PermanentFailure("the message has no e-mail address", detail={"stage": "address"})
        # Before connecting: a missing password fails at once, without a session.
        password = (
            secret(self.environment, self.config.password_env) if self.config.password_env else None
        )
        mail = self.compose(message)
        try:
            return self._session(mail, message.address, password)
        except ChannelError:
            raise
        except smtplib.SMTPResponseException as exc:
            raise _reply_failure("session", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentFailure(
                "the SMTP server does not offer STARTTLS or AUTH as configured",
                detail={"stage": "session", "error": "SMTPNotSupportedError"},
            ) from None
        except ssl.SSLCertVerificationError:
            raise PermanentFailure(
                "the SMTP server's certificate is not trusted",
                detail={"stage": "starttls", "error": "SSLCertVerificationError"},
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Refused or reset connections, timeouts, a server that hung up: the relay may
            # be back in a minute.
            raise TemporaryFailure(
                "the SMTP server could not be reached, hung up or did not answer in time",
                detail={"stage": "session", "error": _error_name(exc)},
            ) from None

    def _session(self, mail: EmailMessage, address: str, password: str | None) -> Receipt:
        """One SMTP session; closed without QUIT on failure (a hung server would hang it)."""
        # EHLO names the sender's domain: smtplib's default looks this host's name up in DNS
        # (socket.getfqdn) on every session, which is slow, or hangs, where DNS is poor.
        helo = self.config.sender_address.rpartition("@")[2] or "localhost"
        smtp = smtplib.SMTP(timeout=self.config.timeout_seconds, local_hostname=helo)
        try:
            receipt = self._deliver(smtp, mail, address, password)
        except BaseException:
            smtp.close()
            raise
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()  # delivered already: a QUIT lost on the way changes nothing
        return receipt

    def _deliver(
        self, smtp: smtplib.SMTP, mail: EmailMessage, address: str, password: str | None
    ) -> Receipt:
        config = self.config
        code, reply = smtp.connect(config.host, config.port)
        if code != 220:
            _refused("CONNECT", code, reply)
        smtp.ehlo_or_helo_if_needed()
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.username is not None and password is not None:
            try:
                smtp.login(config.username, password)
            except smtplib.SMTPAuthenticationError as exc:
                _refused("AUTH", exc.smtp_code, exc.smtp_error)
        code, reply = smtp.mail(config.sender_address)
        if code != 250:
            _refused("MAIL", code, reply)
        code, reply = smtp.rcpt(address)
        if code not in (250, 251):
            _refused("RCPT", code, reply)
        try:
            code, reply = smtp.data(mail.as_bytes())
        except smtplib.SMTPDataError as exc:  # the DATA command itself refused
            _refused("DATA", exc.smtp_code, exc.smtp_error)
        if code != 250:
            _refused("DATA", code, reply)
        return Receipt(
            provider_id=reply.decode("utf-8", "replace")[:200] or None,
            detail={"smtp_code": code, "message_id": mail["Message-ID"]},
        )
