"""Masking of contact data (联系人信息脱敏): phones, ID numbers, names, exact addresses.

Pure functions, no database. What to mask for whom is decided in
:mod:`townops.access.contact`; these only say *how*. Every output that can carry contact
data (API, pages, exports, Open311, the live feed, notifications, logs) masks through
here, so a number typed with spaces or dashes ("138 1234 5678", "138-8765-4321") is
masked the same way as one typed in a row.
"""

from __future__ import annotations

import re

# Seven digits (a local landline) is the shortest contact number worth hiding.
_MIN_DIGITS = 7

# What may stand between the digits of a number someone typed: spaces of any width, dashes
# of any length, dots, slashes, underscores, brackets (at most two in a row).
_ANY_SEPARATOR = r"[\s\-\u2010-\u2015\u2212.\u00b7\u2022_/\\()\uff08\uff09\[\]\u3010\u3011]"
# A calendar date (2022-12-01, 2022/12/1, 2022.12.01) is kept as written.
_DATE = r"(?:19|20)\d{2}(?P<sep>[-/.])(?:0?[1-9]|1[0-2])(?P=sep)(?:0?[1-9]|[12]\d|3[01])(?!\d)"
_DATE_AHEAD = r"(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)"
# A date, or digits with separators between them that does not run on into a date.
_NUMBER = re.compile(
    rf"(?<!\d)(?P<date>{_DATE})|\+?\d(?:{_ANY_SEPARATOR}{{0,2}}(?!{_DATE_AHEAD})\d)*[Xx]?"
)

# The end of an address at building level (楼/号楼/幢/栋/座/号): anything after it (the
# unit, floor and room: "503室", "2单元301", "3楼") is private.
_BUILDING = re.compile(r"^(.*?(?:\d+|[一二三四五六七八九十百]+)(?:号楼|幢|栋|座|号))")
_ROOM_WORDS = re.compile(r"(室|单元|户|层|房|楼\d|\d+楼)")


def mask_phone(phone: str) -> str:
    """138****1234: keep the first three and last four digits of a number."""
    value = phone.strip()
    digits = re.sub(r"\D", "", value)
    if len(digits) >= _MIN_DIGITS:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * len(value)


def mask_email(address: str) -> str:
    """w***@gaohang.example: the first letter and the domain."""
    name, at, domain = address.strip().partition("@")
    if not at:
        return "*" * len(name)
    return f"{name[:1]}***@{domain}"


def mask_address_of(contact: str) -> str:
    """An e-mail address or a phone number (a message's address), masked as what it is."""
    if not contact:
        return ""
    return mask_email(contact) if "@" in contact else mask_phone(contact)


def mask_id_number(value: str) -> str:
    """310***********1234 for a resident ID number."""
    v = value.strip()
    if len(v) > 7:
        return f"{v[:3]}{'*' * (len(v) - 7)}{v[-4:]}"
    return "*" * len(v)


def mask_name(name: str) -> str:
    """张** : the surname only."""
    value = name.strip()
    return value[:1] + "*" * max(len(value) - 1, 0)


def mask_text(text: str) -> str:
    """Mask every phone-like or ID-like number in free text, whatever its separators.

    ``请联系 138 1234 5678`` → ``请联系 138****5678``; so are "138.1234.5678",
    "138–1234–5678", "1 3 8 1 2 3 4 5 6 7 8", ideographic spaces, and numbers that letters
    touch ("ID310115199001017777"). Dates ("2022-12-01") and runs of fewer than seven digits
    (a house number, an amount) are left alone; a decimal of seven digits or more
    ("121.5952") is masked too, the price of never showing a number by mistake.

    A web link's host and path are left alone (``…/report/6543210`` is a report's
    address, not a person's number); its query string is masked like any text, since that
    is where a form would carry a phone (``?tel=…``).
    """
    parts: list[str] = []
    start = 0
    for link in _LINK_PATH.finditer(text):
        parts.append(_NUMBER.sub(_mask_number_match, text[start : link.start()]))
        parts.append(link.group(0))
        start = link.end()
    parts.append(_NUMBER.sub(_mask_number_match, text[start:]))
    return "".join(parts)


# Scheme, host and path of an http(s) link: up to a query, a fragment, a space or a quote.
_LINK_PATH = re.compile(r"https?://[^\s?#<>\"'，。；）]+", re.IGNORECASE)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = re.sub(r"[^\dXx]", "", found)
    if sum(ch.isdigit() for ch in digits) < _MIN_DIGITS:
        return found
    if len(digits) >= 11:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    return f"{'*' * (len(digits) - 4)}{digits[-4:]}"


def address_to_building(address: str) -> str:
    """An address published to building level: ``华高庭园4号楼503室`` → ``华高庭园4号楼``.

    Without a recognisable building part, room-like words and everything after them go;
    numbers in what is left are masked like any number in text.
    """
    value = address.strip()
    found = _BUILDING.match(value)
    if found:
        return found.group(1)
    cut = _ROOM_WORDS.search(value)
    if cut:
        value = value[: cut.start()].rstrip(" ,，-")
    return mask_text(value)


def _mask_number_match(match: re.Match[str]) -> str:
    if match.group("date") is not None:
        return match.group(0)
    return _mask_match(match)


_TRAILING_NUMBER = re.compile(r"[\d\-]+$")


def public_address(address: str) -> str:
    """An address for output anyone can read: building level, every long number masked.

    ``高行镇华高庭园4号楼503室`` → ``高行镇华高庭园4号楼``. Where no building part is
    recognised, a number the address ends on once room words are cut goes as well
    (``华高新村501室`` and ``华高新村4-501`` → ``华高新村``): it is the room, or too close to it.
    """
    value = address.strip()
    public = address_to_building(value)
    if not _BUILDING.match(value):
        public = _TRAILING_NUMBER.sub("", public).rstrip(" ,，-")
    return mask_text(public)
