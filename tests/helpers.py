"""Small helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

NANXIN = "310115121020"  # 南新居委会


def act(
    client: TestClient, headers: dict[str, str], case: dict[str, Any], action: str, **body: Any
) -> Any:
    body.setdefault("version", case["version"])
    return client.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body, headers=headers)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data
