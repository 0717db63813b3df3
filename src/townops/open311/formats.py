"""Open311 GeoReport v2 output: JSON or XML, and the specification's error list."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from fastapi import Request
from fastapi.responses import JSONResponse, Response


def requested_format(request: Request) -> str:
    path = request.url.path
    if path.endswith(".xml"):
        return "xml"
    return "json"


def _add(parent: Element, key: str, value: Any) -> None:
    child = SubElement(parent, key)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _add(child, k, v)
    elif isinstance(value, list):
        singular = key[:-1] if key.endswith("s") else "item"
        for item in value:
            _add(child, singular, item)
    elif value is None:
        pass
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    else:
        child.text = str(value)


def to_xml(root: str, item: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    top = Element(root)
    for row in rows:
        node = SubElement(top, item)
        for key, value in row.items():
            _add(node, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="unicode").encode()


def respond(
    request: Request,
    *,
    root: str,
    item: str,
    rows: list[dict[str, Any]],
    status_code: int = 200,
) -> Response:
    if requested_format(request) == "xml":
        return Response(
            to_xml(root, item, rows), media_type="text/xml; charset=utf-8", status_code=status_code
        )
    return JSONResponse(rows, status_code=status_code)


def open311_error_response(request: Request, status_code: int, description: str) -> Response:
    rows = [{"code": status_code, "description": description}]
    return respond(request, root="errors", item="error", rows=rows, status_code=status_code)
