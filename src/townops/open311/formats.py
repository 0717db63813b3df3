"""Open311 GeoReport v2 output: JSON or XML, the language, and the specification's error list.

The format is the path suffix (``/services.xml``); a path without one is answered in JSON.
XML follows the spec: a root element, one child per row, lists as repeated singular
elements (``<formats><format>…``), ``null`` as an empty element, UTF-8 throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from xml.etree.ElementTree import Element, SubElement, tostring

from fastapi import Request
from fastapi.responses import JSONResponse, Response

Format = Literal["json", "xml"]
Locale = Literal["zh", "en"]

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
XML_MEDIA_TYPE = "text/xml; charset=utf-8"
_XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot carry at all; ElementTree would write them and break parsers.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def requested_format(request: Request) -> Format:
    """``xml`` for ``….xml`` (or ``?fmt=xml`` on a suffix-less path), otherwise ``json``."""
    chosen = request.path_params.get("fmt") or request.query_params.get("fmt")
    if chosen is None:
        return "xml" if request.url.path.lower().endswith(".xml") else "json"
    return "xml" if str(chosen).lower() == "xml" else "json"


def requested_locale(request: Request) -> Locale:
    """``?locale=en`` wins; else the best of zh/en in ``Accept-Language``; else zh."""
    explicit = request.query_params.get("locale", "").strip().lower()
    if explicit:
        return "en" if explicit.startswith("en") else "zh"
    return locale_from_header(request.headers.get("accept-language", ""))


def locale_from_header(header: str) -> Locale:
    best: tuple[float, Locale] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        language = _language(tag.strip().lower())
        if language is None:
            continue
        quality = _quality(params)
        # Equal weights keep the header's order: the earlier language wins.
        score = quality - position * 1e-6
        if quality > 0 and (best is None or score > best[0]):
            best = (score, language)
    return best[1] if best else "zh"


def _language(tag: str) -> Locale | None:
    if tag.startswith("en"):
        return "en"
    if tag.startswith("zh"):
        return "zh"
    return None


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _add(parent: Element, key: str, value: Any) -> None:
    child = SubElement(parent, key)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _add(child, k, v)
    elif isinstance(value, list):
        singular = key[:-1] if key.endswith("s") else "item"
        for item in value:
            _add(child, singular, item)
    elif value is not None:
        child.text = _text(value)


def _document(top: Element) -> bytes:
    return _XML_DECLARATION + tostring(top, encoding="unicode").encode()


def to_xml(root: str, item: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    top = Element(root)
    for row in rows:
        node = SubElement(top, item)
        for key, value in row.items():
            _add(node, key, value)
    return _document(top)


def object_to_xml(root: str, obj: Mapping[str, Any]) -> bytes:
    top = Element(root)
    for key, value in obj.items():
        _add(top, key, value)
    return _document(top)


def _headers(vary_language: bool) -> dict[str, str] | None:
    return {"Vary": "Accept-Language"} if vary_language else None


def respond(
    request: Request,
    *,
    root: str,
    item: str,
    rows: list[dict[str, Any]],
    status_code: int = 200,
    vary_language: bool = False,
) -> Response:
    """A list of rows: a JSON array, or ``<root><item>…</item>…</root>``."""
    headers = _headers(vary_language)
    if requested_format(request) == "xml":
        return Response(
            to_xml(root, item, rows),
            media_type=XML_MEDIA_TYPE,
            status_code=status_code,
            headers=headers,
        )
    return JSONResponse(rows, status_code=status_code, media_type=JSON_MEDIA_TYPE, headers=headers)


def respond_object(
    request: Request, *, root: str, obj: dict[str, Any], vary_language: bool = False
) -> Response:
    """One object: a JSON object, or ``<root>…</root>`` (discovery, service definition)."""
    headers = _headers(vary_language)
    if requested_format(request) == "xml":
        return Response(object_to_xml(root, obj), media_type=XML_MEDIA_TYPE, headers=headers)
    return JSONResponse(obj, media_type=JSON_MEDIA_TYPE, headers=headers)


def open311_error_response(
    request: Request, status_code: int, description: str, *, headers: dict[str, str] | None = None
) -> Response:
    rows = [{"code": status_code, "description": description}]
    response = respond(request, root="errors", item="error", rows=rows, status_code=status_code)
    response.headers.update(headers or {})
    return response
