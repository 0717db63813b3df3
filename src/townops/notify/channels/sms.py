"""Text messages (短信) through Alibaba Cloud (阿里云) and Tencent Cloud (腾讯云).

Chinese SMS gateways send only registered templates (模板) under a registered signature
(签名): the message's ``template_params`` fill the template, its title and body are not
sent. ``address`` is the mobile number. Each request is signed the way the provider
documents it:

* Aliyun ``SendSms`` (dysmsapi, 2017-05-25): the RPC style, HMAC-SHA1 over the sorted,
  RFC 3986-encoded parameters (``POST&%2F&…``), key ``AccessKeySecret + "&"``; a fresh
  ``SignatureNonce`` per request (Aliyun refuses a nonce seen within 15 minutes).
* Tencent ``SendSms`` (2021-01-11): TC3-HMAC-SHA256 over the canonical request (headers
  ``content-type;host;x-tc-action``, the SHA-256 of the JSON body), with a key derived
  from the date, the service (``sms``) and ``tc3_request``.

A rate limit (per number per minute/hour/day, or per account) is worth trying again; a bad
number, an unapproved template or signature, or a refused key is not. Failures carry the
provider's code and request id only: never the number or the parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from townops.notify.channels import _http
from townops.notify.channels.base import Message, PermanentFailure, Receipt, TemporaryFailure
from townops.notify.channels.config import AliyunSmsConfig, TencentSmsConfig
from townops.notify.channels.environment import Environment, secret

__all__ = [
    "AliyunSms",
    "TencentSms",
    "aliyun_percent_encode",
    "aliyun_signature",
    "tc3_authorization",
]

#: The wait for a rate limit (限流): providers count per minute at the finest.
_RATE_LIMIT_WAIT = 60.0


def _digits(address: str) -> str:
    """The number without the spaces, dashes and brackets people type."""
    return "".join(c for c in address if c.isdigit() or c == "+")


def _no_number() -> PermanentFailure:
    return PermanentFailure("the message has no mobile number", detail={"error": "no address"})


# ---------------------------------------------------------------------------- Aliyun

ALIYUN_VERSION = "2017-05-25"
# Temporary besides Throttling*: per-number flow control (触发号码天级/小时级/分钟级流控),
# and the platform's own trouble.
_ALIYUN_TEMPORARY = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "ServiceUnavailable"}
)


def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 over UTF-8: only ``A-Z a-z 0-9 - _ . ~`` stay (space is %20, * is %2A)."""
    return quote(value, safe="-_.~")


def aliyun_signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """Aliyun's RPC signature (SignatureVersion 1.0, HMAC-SHA1), base64."""
    canonical = "&".join(
        f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items())
    )
    string_to_sign = f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    key = (access_key_secret + "&").encode("utf-8")
    return base64.b64encode(
        hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    ).decode()


def _mainland_number(address: str) -> str:
    """Aliyun wants mainland numbers bare (11 digits); others keep their country code."""
    number = _digits(address)
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            return number[len(prefix) :]
    return number.removeprefix("+")


class AliyunSms:
    """Alibaba Cloud SMS (阿里云短信): one number, one template, per message."""

    def __init__(self, name: str, config: AliyunSmsConfig, environment: Environment) -> None:
        self.name = name
        self.config = config
        self.environment = environment

    def parameters(self, message: Message, access_key_id: str) -> dict[str, str]:
        """The request's parameters, signature aside."""
        params = {
            "AccessKeyId": access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": ALIYUN_VERSION,
            "PhoneNumbers": _mainland_number(message.address),
            "SignName": self.config.sign_name,
            "TemplateCode": self.config.template_code,
            # Echoed in delivery reports (回执): ties a report to the outbox row.
            "OutId": message.idempotency_key[:256],
        }
        if message.template_params:
            params["TemplateParam"] = json.dumps(message.template_params, ensure_ascii=False)
        return params

    def send(self, message: Message) -> Receipt:
        if not _digits(message.address):
            raise _no_number()
        key_id = secret(self.environment, self.config.access_key_id_env)
        key_secret = secret(self.environment, self.config.access_key_secret_env)
        params = self.parameters(message, key_id)
        params["Signature"] = aliyun_signature("POST", params, key_secret)
        body = "&".join(
            f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in params.items()
        )
        response = _http.post(
            self.config.endpoint,
            timeout=self.config.timeout_seconds,
            content=body.encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return _aliyun_answer(response)


def _aliyun_answer(response: httpx.Response) -> Receipt:
    """``{"Code": "OK", "BizId": …}`` is sent; any other Code is classified by name."""
    answer = _http.json_object(response)
    code = answer.get("Code") if answer else None
    if answer is None or not isinstance(code, str):
        _http.fail_on_status(response)
        raise _http.unreadable(response)
    detail: dict[str, Any] = {"code": code, "request_id": answer.get("RequestId")}
    if code == "OK":
        return Receipt(provider_id=answer.get("BizId"), detail=detail)
    detail["http_status"] = response.status_code
    reason = f"Aliyun SMS answered {code}"
    if code == "isv.BUSINESS_LIMIT_CONTROL" or code.startswith("Throttling"):
        raise TemporaryFailure(reason, retry_after=_RATE_LIMIT_WAIT, detail=detail)
    if code in _ALIYUN_TEMPORARY or response.status_code >= 500:
        raise TemporaryFailure(reason, retry_after=_http.retry_after(response), detail=detail)
    # isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL, isv.SMS_SIGNATURE_ILLEGAL,
    # InvalidAccessKeyId.*, SignatureDoesNotMatch …: fix the number or the configuration.
    raise PermanentFailure(reason, detail=detail)


# ---------------------------------------------------------------------------- Tencent

TENCENT_VERSION = "2021-01-11"
_TC3 = "TC3-HMAC-SHA256"
_TENCENT_SERVICE = "sms"
_TENCENT_CONTENT_TYPE = "application/json; charset=utf-8"
_TENCENT_SIGNED_HEADERS = "content-type;host;x-tc-action"
# Temporary besides the rate limits (LimitExceeded.*, RequestLimitExceeded): the API's own
# trouble. Other InternalError.* codes name signing mistakes, which a retry does not fix.
_TENCENT_TEMPORARY = frozenset({"InternalError", "InternalError.Timeout"})


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    *,
    host: str,
    action: str,
    payload: bytes,
    timestamp: int,
    service: str = _TENCENT_SERVICE,
) -> str:
    """The ``Authorization`` header of a TC3-HMAC-SHA256 signed POST (API 3.0)."""
    canonical_headers = (
        f"content-type:{_TENCENT_CONTENT_TYPE}\nhost:{host.lower()}\nx-tc-action:{action.lower()}\n"
    )
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            canonical_headers,
            _TENCENT_SIGNED_HEADERS,
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [_TC3, str(timestamp), scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{_TC3} Credential={secret_id}/{scope}, "
        f"SignedHeaders={_TENCENT_SIGNED_HEADERS}, Signature={signature}"
    )


def _e164_china(address: str) -> str:
    """Tencent wants E.164: a number without a country code is a mainland one (+86)."""
    number = _digits(address)
    if number.startswith("+"):
        return number
    if number.startswith("0086"):
        return "+" + number[2:]
    return "+86" + number


class TencentSms:
    """Tencent Cloud SMS (腾讯云短信): one number, one template, per message."""

    def __init__(self, name: str, config: TencentSmsConfig, environment: Environment) -> None:
        self.name = name
        self.config = config
        self.environment = environment

    def payload(self, message: Message) -> dict[str, Any]:
        return {
            "PhoneNumberSet": [_e164_china(message.address)],
            "SmsSdkAppId": self.config.sdk_app_id,
            "SignName": self.config.sign_name,
            "TemplateId": self.config.template_id,
            # The template's {1}, {2} …: the parameters in the order the rule wrote them.
            "TemplateParamSet": list(message.template_params.values()),
            # Echoed in delivery reports (回执): ties a report to the outbox row.
            "SessionContext": message.idempotency_key[:512],
        }

    def send(self, message: Message) -> Receipt:
        if not _digits(message.address):
            raise _no_number()
        secret_id = secret(self.environment, self.config.secret_id_env)
        secret_key = secret(self.environment, self.config.secret_key_env)
        response = _http.post(
            self.config.endpoint,
            timeout=self.config.timeout_seconds,
            content=json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8"),
            headers={
                "Content-Type": _TENCENT_CONTENT_TYPE,
                "X-TC-Action": "SendSms",
                "X-TC-Version": TENCENT_VERSION,
                "X-TC-Region": self.config.region,
            },
            sign=_tencent_signer(secret_id, secret_key),
        )
        return _tencent_answer(response)


def _tencent_signer(secret_id: str, secret_key: str) -> _http.Signer:
    """Signs with the Host httpx will send (a port included) and the body as sent."""

    def sign(request: httpx.Request) -> None:
        timestamp = int(time.time())
        request.headers["X-TC-Timestamp"] = str(timestamp)
        request.headers["Authorization"] = tc3_authorization(
            secret_id,
            secret_key,
            host=request.headers["host"],
            action=request.headers["x-tc-action"],
            payload=request.content,
            timestamp=timestamp,
        )

    return sign


def _tencent_code(answer: dict[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    """The answer's code (the error's, else the first number's) and the status it came in."""
    response = answer.get("Response") if answer else None
    if not isinstance(response, dict):
        return None, {}
    error = response.get("Error")
    if isinstance(error, dict) and isinstance(error.get("Code"), str):
        return error["Code"], {}
    statuses = response.get("SendStatusSet")
    if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict):
        status = statuses[0]
        code = status.get("Code")
        return (code if isinstance(code, str) else None), status
    return None, {}


def _tencent_answer(response: httpx.Response) -> Receipt:
    """``SendStatusSet[0].Code == "Ok"`` is sent; an ``Error`` or another Code is not."""
    answer = _http.json_object(response)
    code, status = _tencent_code(answer)
    if code is None:
        _http.fail_on_status(response)
        raise _http.unreadable(response)
    request_id = answer.get("Response", {}).get("RequestId") if answer else None
    detail: dict[str, Any] = {"code": code, "request_id": request_id}
    if code == "Ok":
        return Receipt(provider_id=status.get("SerialNo"), detail=detail)
    detail["http_status"] = response.status_code
    reason = f"Tencent SMS answered {code}"
    if code.startswith("LimitExceeded.") or code == "RequestLimitExceeded":
        raise TemporaryFailure(reason, retry_after=_RATE_LIMIT_WAIT, detail=detail)
    if code in _TENCENT_TEMPORARY or response.status_code >= 500:
        raise TemporaryFailure(reason, retry_after=_http.retry_after(response), detail=detail)
    # FailedOperation.*, InvalidParameterValue.*, AuthFailure.* …: fix before trying again.
    raise PermanentFailure(reason, detail=detail)
