"""Small helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

NANXIN = "310115121020"  # 南新居委会


def act(
    client: TestClient, headers: dict[str, str], case: dict[str, Any], action: str, **body: Any
) -> httpx.Response:
    body.setdefault("version", case["version"])
    response: httpx.Response = client.post(
        f"/api/v1/cases/{case['id']}/actions/{action}", json=body, headers=headers
    )
    return response


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON object of a response that has ``status``."""
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


def ok_list(response: httpx.Response, status: int = 200) -> list[dict[str, Any]]:
    """The JSON array (of objects) of a response that has ``status``."""
    assert response.status_code == status, response.text
    data: list[dict[str, Any]] = response.json()
    return data


def error_of(response: httpx.Response, status: int) -> str:
    """Open311's error list: [{"code", "description"}] with the HTTP status as code; the
    first description."""
    assert response.status_code == status, response.text
    errors = response.json()
    assert isinstance(errors, list) and errors[0]["code"] == status
    description: str = errors[0]["description"]
    return description
