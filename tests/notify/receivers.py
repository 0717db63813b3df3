"""Local stand-ins for the providers the channels talk to, on 127.0.0.1 in a thread.

:class:`SmtpReceiver` is an aiosmtpd server that records each message (parsed) and can
refuse the next N at RCPT or DATA with a chosen reply. :class:`HttpReceiver` is one HTTP
server speaking the request and answer shapes of four providers, by path:

* WeCom group bot (企业微信) ``/cgi-bin/webhook/send?key=…``
* DingTalk group bot (钉钉) ``/robot/send?access_token=…`` (checks 加签 when given a secret)
* Aliyun SMS (阿里云短信) ``/aliyun/``: RPC ``SendSms``, HMAC-SHA1 signature checked
* Tencent SMS (腾讯云短信) ``/tencent/``: ``SendSms`` 2021-01-11, TC3-HMAC-SHA256 checked

The signature checks are written here from the providers' documentation, apart from the
channels' code, so a signing mistake in a channel is a refused request, as in production.
Scripted answers ("the next N requests get this") stand in for rate limits, 5xx, revoked
keys; ``slow_seconds`` holds every answer back, for timeouts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self, cast
from urllib.parse import parse_qsl, quote_plus, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Provider = Literal["wecom", "dingtalk", "feishu", "aliyun", "tencent"]
ALIYUN_PATH = "/aliyun/"
TENCENT_PATH = "/tencent/"
WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"
FEISHU_PATH_PREFIX = "/open-apis/bot/v2/hook/"


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd's Controller needs one before it starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class ReceivedMail:
    """One message the SMTP receiver accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        """The decoded text body."""
        return str(self.message.get_content())


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.receiver.scripted("RCPT")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.receiver.slow_seconds:
            await asyncio.sleep(self.receiver.slow_seconds)
        refusal = self.receiver.scripted("DATA")
        if refusal is not None:
            return refusal
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=default_policy)
        mail = ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message)
        with self.receiver.lock:
            self.receiver.messages.append(mail)
            number = len(self.receiver.messages)
        return f"250 2.0.0 Ok: queued as Q{number:04d}"


class SmtpReceiver:
    """An SMTP server on 127.0.0.1 (aiosmtpd); AUTH PLAIN/LOGIN when given a login."""

    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.username = username
        self.password = password
        self.messages: list[ReceivedMail] = []
        self.slow_seconds = 0.0
        self.lock = threading.Lock()
        self._script: deque[tuple[str, str]] = deque()
        extra: dict[str, Any] = {}
        if username is not None:
            extra = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(
            _SmtpHandler(self),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="receiver.test",  # not getfqdn(): no DNS look-up at start
            ready_timeout=5.0,
            **extra,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        # handled=False: aiosmtpd answers 235 or 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def fail_next(self, times: int, reply: str, *, stage: Literal["RCPT", "DATA"] = "DATA") -> None:
        """The next ``times`` messages are refused at ``stage`` with ``reply`` ("451 …")."""
        with self.lock:
            self._script.extend([(stage, reply)] * times)

    def scripted(self, stage: str) -> str | None:
        """The scripted refusal due at ``stage``, if the next one is for it."""
        with self.lock:
            if self._script and self._script[0][0] == stage:
                return self._script.popleft()[1]
        return None

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self._script.clear()
            self.slow_seconds = 0.0

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Answer:
    """What the receiver answers: a status, a JSON body, headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """One request the HTTP receiver got, and whether its signature held (None: unsigned)."""

    provider: Provider
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    verified: bool | None

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("ascii"), keep_blank_values=True))


def wecom_error(code: int) -> Answer:
    return Answer(body={"errcode": code, "errmsg": f"scripted error {code}"})


def dingtalk_error(code: int) -> Answer:
    return Answer(body={"errcode": code, "errmsg": f"scripted error {code}"})


def feishu_error(code: int) -> Answer:
    return Answer(body={"code": code, "data": {}, "msg": f"scripted error {code}"})


def aliyun_error(code: str, status: int = 200) -> Answer:
    return Answer(status, {"Code": code, "Message": "scripted", "RequestId": str(uuid.uuid4())})


def tencent_error(code: str) -> Answer:
    """An API error (``Response.Error``): the whole request refused."""
    error = {"Code": code, "Message": "scripted"}
    return Answer(body={"Response": {"Error": error, "RequestId": str(uuid.uuid4())}})


def tencent_status(code: str) -> Answer:
    """A per-number status (``SendStatusSet[0].Code``) other than Ok."""
    status = {"SerialNo": "", "PhoneNumber": "", "Fee": 0, "Code": code, "Message": "scripted"}
    return Answer(body={"Response": {"SendStatusSet": [status], "RequestId": str(uuid.uuid4())}})


def http_error(status: int, retry_after: str | None = None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Answer(status, {"error": "scripted"}, headers)


# The receiver's own reading of the providers' signing documents (not the channels' code).


def _aliyun_encode(value: str) -> str:
    # The documented recipe (Java's URLEncoder, then "+"→"%20", "*"→"%2A", "%7E"→"~").
    encoded = quote_plus(value, safe="", encoding="utf-8")
    return encoded.replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def aliyun_expected_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(_aliyun_encode(k) + "=" + _aliyun_encode(v) for k, v in pairs)
    to_sign = method + "&" + _aliyun_encode("/") + "&" + _aliyun_encode(canonical)
    mac = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _tc3_expected_signature(
    headers: dict[str, str], body: bytes, secret_key: str, signed: str, date: str
) -> str:
    canonical_headers = "".join(
        f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed.split(";")
    )
    canonical_request = (
        f"POST\n/\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
    )
    to_sign = (
        f"TC3-HMAC-SHA256\n{headers.get('x-tc-timestamp', '')}\n{date}/sms/tc3_request\n"
        + hashlib.sha256(canonical_request.encode()).hexdigest()
    )

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing_key = mac(mac(mac(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    return hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()


def _fresh_aliyun_timestamp(text: str) -> bool:
    """ISO 8601 in UTC (``2026-05-01T08:00:00Z``), within 15 minutes of now."""
    if not text.endswith("Z"):
        return False
    try:
        stamp = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return False
    return abs(time.time() - stamp.timestamp()) <= 900


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a slow answer held back must not hold the test run

    def __init__(self, receiver: HttpReceiver) -> None:
        super().__init__(("127.0.0.1", 0), _HttpHandler)
        self.receiver = receiver


class _HttpHandler(BaseHTTPRequestHandler):
    server: _HttpServer

    def do_POST(self) -> None:
        receiver = self.server.receiver
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        answer = receiver.handle(parts.path, query, headers, body)
        if receiver.slow_seconds and receiver.stopping.wait(receiver.slow_seconds):
            return  # stopping: nobody waits for this answer any more
        data = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a timeout test): nothing to answer to

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``received``, not a log."""


class HttpReceiver:
    """One HTTP server for the four HTTP providers, on 127.0.0.1, in a thread."""

    def __init__(
        self,
        *,
        wecom_key: str = "wecom-key-1",
        dingtalk_token: str = "dingtalk-token-1",
        dingtalk_secret: str | None = None,
        feishu_hook: str = "feishu-hook-1",
        feishu_secret: str | None = None,
        aliyun_key: tuple[str, str] = ("LTAI-test-id", "aliyun-test-secret"),
        tencent_key: tuple[str, str] = ("AKID-test-id", "tencent-test-secret"),
    ) -> None:
        self.wecom_key = wecom_key
        self.dingtalk_token = dingtalk_token
        self.dingtalk_secret = dingtalk_secret
        self.feishu_hook = feishu_hook
        self.feishu_secret = feishu_secret
        self.aliyun_key = aliyun_key
        self.tencent_key = tencent_key
        self.received: list[Received] = []
        self.slow_seconds = 0.0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self._script: dict[str, deque[Answer]] = {}
        self._nonces: set[str] = set()
        self._server = _HttpServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def wecom_url(self) -> str:
        return f"{self.base_url}{WECOM_PATH}?key={self.wecom_key}"

    @property
    def dingtalk_url(self) -> str:
        return f"{self.base_url}{DINGTALK_PATH}?access_token={self.dingtalk_token}"

    @property
    def feishu_url(self) -> str:
        return f"{self.base_url}{FEISHU_PATH_PREFIX}{self.feishu_hook}"

    @property
    def aliyun_endpoint(self) -> str:
        return self.base_url + ALIYUN_PATH

    @property
    def tencent_endpoint(self) -> str:
        return self.base_url + TENCENT_PATH

    def fail_next(self, provider: Provider, times: int, answer: Answer) -> None:
        """The next ``times`` requests to ``provider`` get ``answer`` (after being recorded)."""
        with self.lock:
            self._script.setdefault(provider, deque()).extend([answer] * times)

    def reset(self) -> None:
        """Forget requests and scripts; fast again; DingTalk back to unsigned."""
        with self.lock:
            self.received.clear()
            self._script.clear()
            self.slow_seconds = 0.0
            self.dingtalk_secret = None
            self.feishu_secret = None

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ dispatch

    def handle(
        self, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        """Record the request, check it as its provider would, and answer."""
        provider = self._provider(path)
        if provider is None:
            return Answer(404, {"error": "no such path"})
        verified, answer = self._check(provider, query, headers, body)
        with self.lock:
            self.received.append(Received(provider, query, headers, body, verified))
            script = self._script.get(provider)
            if script:
                return script.popleft()
        return answer

    @staticmethod
    def _provider(path: str) -> Provider | None:
        if path.startswith(FEISHU_PATH_PREFIX):
            return "feishu"
        if path == WECOM_PATH:
            return "wecom"
        if path == DINGTALK_PATH:
            return "dingtalk"
        if path == ALIYUN_PATH:
            return "aliyun"
        if path == TENCENT_PATH:
            return "tencent"
        return None

    def _check(
        self, provider: Provider, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[bool | None, Answer]:
        if provider == "wecom":
            return None, self._wecom(query, body)
        if provider == "dingtalk":
            return self._dingtalk(query, body)
        if provider == "feishu":
            return self._feishu(body)
        if provider == "aliyun":
            return self._aliyun(body)
        return self._tencent(headers, body)

    # ------------------------------------------------------------------ WeCom

    def _wecom(self, query: dict[str, str], body: bytes) -> Answer:
        if query.get("key") != self.wecom_key:
            return wecom_error(93000)  # invalid webhook url
        payload = json.loads(body)
        kind = payload.get("msgtype")
        if kind not in ("markdown", "text") or not payload.get(kind, {}).get("content"):
            return wecom_error(44004)  # empty content
        return Answer(body={"errcode": 0, "errmsg": "ok"})

    # ------------------------------------------------------------------ DingTalk

    def _dingtalk(self, query: dict[str, str], body: bytes) -> tuple[bool | None, Answer]:
        if query.get("access_token") != self.dingtalk_token:
            return None, dingtalk_error(300001)  # token is not exist
        verified: bool | None = None
        if self.dingtalk_secret is not None:
            verified = self._dingtalk_signed(query)
            if not verified:
                return False, dingtalk_error(310000)  # sign not match
        payload = json.loads(body)
        markdown = payload.get("markdown", {})
        if payload.get("msgtype") != "markdown" or not markdown.get("title"):
            return verified, dingtalk_error(40035)  # missing parameter
        return verified, Answer(body={"errcode": 0, "errmsg": "ok"})

    def _dingtalk_signed(self, query: dict[str, str]) -> bool:
        secret = cast(str, self.dingtalk_secret)
        timestamp = query.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3_600_000:
            return False
        mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
        return hmac.compare_digest(base64.b64encode(mac.digest()).decode(), query.get("sign", ""))

    # ------------------------------------------------------------------ Feishu

    def _feishu(self, body: bytes) -> tuple[bool | None, Answer]:
        # Which hook was called is in the path; one hook is served, as a real URL is one bot.
        payload = json.loads(body)
        verified: bool | None = None
        if self.feishu_secret is not None:
            verified = self._feishu_signed(payload)
            if not verified:
                return False, feishu_error(19021)  # sign match fail or timestamp too old
        post = payload.get("content", {}).get("post", {}).get("zh_cn", {})
        if payload.get("msg_type") != "post" or not post.get("content"):
            return verified, feishu_error(19001)  # param invalid
        return verified, Answer(body={"code": 0, "data": {}, "msg": "success"})

    def _feishu_signed(self, payload: dict[str, Any]) -> bool:
        secret = cast(str, self.feishu_secret)
        timestamp = str(payload.get("timestamp", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
            return False
        key = f"{timestamp}\n{secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, str(payload.get("sign", "")))

    # ------------------------------------------------------------------ Aliyun

    def _aliyun(self, body: bytes) -> tuple[bool | None, Answer]:
        params = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
        fixed = {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
        }
        if any(params.get(k) != v for k, v in fixed.items()):
            return None, aliyun_error("MissingParameter", 400)
        key_id, secret = self.aliyun_key
        if params.get("AccessKeyId") != key_id:
            return False, aliyun_error("InvalidAccessKeyId.NotFound", 404)
        expected = aliyun_expected_signature(params, secret)
        if not hmac.compare_digest(expected, params.get("Signature", "")):
            return False, aliyun_error("SignatureDoesNotMatch", 400)
        if not _fresh_aliyun_timestamp(params.get("Timestamp", "")):
            return False, aliyun_error("InvalidTimeStamp.Expired", 400)
        nonce = params.get("SignatureNonce", "")
        with self.lock:
            if nonce in self._nonces:
                return False, aliyun_error("SignatureNonceUsed", 400)
            self._nonces.add(nonce)
        request_id = str(uuid.uuid4())
        return True, Answer(
            body={
                "Code": "OK",
                "Message": "OK",
                "BizId": "900619746936498440^0",
                "RequestId": request_id,
            }
        )

    # ------------------------------------------------------------------ Tencent

    def _tencent(self, headers: dict[str, str], body: bytes) -> tuple[bool | None, Answer]:
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return None, tencent_error("InvalidAction")
        verified, error = self._tencent_signed(headers, body)
        if error is not None:
            return verified, tencent_error(error)
        payload = json.loads(body)
        number = payload["PhoneNumberSet"][0]
        status = {
            "SerialNo": "2640:542910000000000000000000",
            "PhoneNumber": number,
            "Fee": 1,
            "SessionContext": payload.get("SessionContext", ""),
            "Code": "Ok",
            "Message": "send success",
            "IsoCode": "CN",
        }
        return True, Answer(
            body={"Response": {"SendStatusSet": [status], "RequestId": str(uuid.uuid4())}}
        )

    def _tencent_signed(self, headers: dict[str, str], body: bytes) -> tuple[bool, str | None]:
        """Check the Authorization header: (verified, the error code when it fails)."""
        scheme, _, rest = headers.get("authorization", "").partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        credential = fields.get("Credential", "").split("/")
        signed = fields.get("SignedHeaders", "")
        if scheme != "TC3-HMAC-SHA256" or len(credential) != 4 or not signed:
            return False, "AuthFailure.InvalidAuthorization"
        secret_id, date, service, terminator = credential
        if secret_id != self.tencent_key[0]:
            return False, "AuthFailure.SecretIdNotFound"
        stamp = headers.get("x-tc-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return False, "AuthFailure.SignatureExpire"
        day = datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d")
        if (date, service, terminator) != (day, "sms", "tc3_request"):
            return False, "AuthFailure.InvalidAuthorization"
        if not {"content-type", "host"} <= set(signed.split(";")):
            return False, "AuthFailure.InvalidAuthorization"
        expected = _tc3_expected_signature(headers, body, self.tencent_key[1], signed, date)
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return False, "AuthFailure.SignatureFailure"
        return True, None
