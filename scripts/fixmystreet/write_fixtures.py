"""Turn $FMS_WORK/capture (what FixMyStreet's Open311.pm sent, recorded by harness.pl) into
the fixtures in tests/open311/fixmystreet/.

Each NAME.http: the request line (method, path with query) and Content-Type, each ending in
"\n", a blank line, then the body bytes exactly as sent (CRLF inside multipart bodies kept).
Placeholders: {api_key}, {service_request_id}, {token}, and {jpeg} for each photo's bytes.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

WORK = Path(os.environ.get("FMS_WORK", "/tmp/fms"))
CAP = WORK / "capture"
OUT = Path(__file__).resolve().parents[2] / "tests" / "open311" / "fixmystreet"
KEY = (WORK / "apikey.txt").read_text().strip()
STATE = json.loads((WORK / "state.json").read_text())

FIXTURES = {
    "get_services": "get_services.http",
    "get_service_definition": "get_service_definition.http",
    "post_request": "post_request.http",
    "post_request_multipart": "post_request_multipart.http",
    "get_token": "get_token.http",
    "get_updates": "get_updates.http",
    "post_update": "post_update.http",
    "post_update_extended": "post_update_extended_statuses.http",
    "post_update_multipart": "post_update_multipart.http",
    "post_update_media_url": "post_update_media_url.http",
    "get_requests_by_ids": "get_requests_by_ids.http",
}
ANSWERS = {
    "get_updates": "answer_updates.xml",
    "post_request": "answer_post_request.xml",
    "post_update": "answer_post_update.xml",
}


def latest(label: str, suffix: str) -> Path:
    found = sorted(p for p in CAP.glob(f"*-{label}.{suffix}"))
    if not found:
        sys.exit(f"no capture for {label}")
    return found[-1]


def split(raw: bytes) -> tuple[list[str], bytes]:
    head, _, body = raw.partition(b"\n\n")
    return head.decode().split("\n"), body


def placeholders(data: bytes, case_id: str | None, token: str | None) -> bytes:
    data = data.replace(KEY.encode(), b"{api_key}")
    if token:
        data = data.replace(token.encode(), b"{token}")
    if case_id:
        # urlencoded field, multipart field
        data = re.sub(rb"(service_request_id=)" + case_id.encode() + rb"(?=&|$)", rb"\1{service_request_id}", data)
        data = re.sub(
            rb'(name="service_request_id"\r\n\r\n)' + case_id.encode() + rb"(\r\n)",
            rb"\1{service_request_id}\2",
            data,
        )
    return data


def strip_jpegs(body: bytes) -> bytes:
    # each file part: headers with Content-Type: image/..., blank line, bytes, CRLF--boundary
    return re.sub(
        rb"(Content-Type: image/[a-z]+\r\n\r\n).*?(\r\n--)",
        rb"\1{jpeg}\2",
        body,
        flags=re.S,
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    case_for = {
        "post_update": STATE["case1"],
        "post_update_media_url": STATE["case1"],
        "post_update_extended": STATE["case2"],
        "post_update_multipart": STATE["case2"],
    }
    for label, name in FIXTURES.items():
        lines, body = split(latest(label, "request").read_bytes())
        request_line = lines[0]
        content_type = next((l for l in lines[1:] if l.startswith("Content-Type:")), "Content-Type:")
        if label == "get_requests_by_ids":
            # keep the first five ids only (the README says what the whole list was)
            request_line = re.sub(
                r"(service_request_id=)((?:\d+%2C){4}\d+)(?:%2C\d+)*", r"\1\2", request_line
            )
        if label == "get_token":
            request_line = request_line.replace(STATE["token1"], "{token}")
        head = (request_line + "\n" + content_type.rstrip() + "\n\n").encode()
        if b"multipart/form-data" in head:
            body = strip_jpegs(body)
        data = placeholders(head + body, case_for.get(label), STATE.get("token1"))
        (OUT / name).write_bytes(data)
        print(f"wrote {OUT / name} ({len(data)} bytes)")
    for label, name in ANSWERS.items():
        raw = latest(label, "response").read_bytes()
        status, _, rest = raw.partition(b"\n")
        headers, _, body = rest.partition(b"\n\n")
        assert status.startswith(b"200"), (label, status)
        (OUT / name).write_bytes(body if body.endswith(b"\n") else body + b"\n")
        print(f"wrote {OUT / name} ({len(body)} bytes)")


if __name__ == "__main__":
    main()
