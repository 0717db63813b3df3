"""Why automatic dispatch decided as it did, as a stable code with its figures.

A routing decision used to carry only an English sentence (``reason``), which a zh-CN page
cannot translate. Each reason is now a code (``reason_code``) with structured parameters
(``reason_params``) that the web app words in the user's language (``labels.js``,
group ``routing_reason``); the English sentence is still made from them for API clients
and the audit trail.

The code and parameters are kept in the decision's ``scores`` JSON under ``"reason"``, so
no column is needed. Decisions stored before that carry only the sentence: ``reason_of``
recognises the sentences this module used to write and recovers code and figures, and
answers ``other`` for anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Where the code and its parameters live inside ``RoutingDecision.scores``.
SCORES_KEY = "reason"


@dataclass(frozen=True)
class RoutingReason:
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The English sentence of the API's ``reason`` field."""
        template = _TEMPLATES.get(self.code)
        if template is None:
            return str(self.params.get("text", self.code))
        return template.format(**self.params)

    def stored(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}


# Codes: dispatched → confident; duplicate → repeat; queued → the five below it.
_TEMPLATES: dict[str, str] = {
    "confident": "rule '{rule}', confidence {confidence:.2f} ≥ {threshold:.2f}",
    "repeat": "repeats open case {case_id} (similarity {similarity:.2f})",
    "auto_dispatch_off": "automatic dispatch is off for this town",
    "person_requested": "the caller asked for a person to dispatch it",
    "low_confidence": "confidence {confidence:.2f} below the threshold {threshold:.2f}",
    "no_place": "no place found in the request",
    "unsure_place": "place not sure enough ({place_confidence:.2f})",
}
REASON_CODES = (*_TEMPLATES, "other")


def confident(rule: str, confidence: float, threshold: float) -> RoutingReason:
    return RoutingReason(
        "confident",
        {"rule": rule, "confidence": round(confidence, 4), "threshold": round(threshold, 4)},
    )


def repeat(case_id: int, similarity: float) -> RoutingReason:
    return RoutingReason("repeat", {"case_id": case_id, "similarity": round(similarity, 4)})


def low_confidence(confidence: float, threshold: float) -> RoutingReason:
    return RoutingReason(
        "low_confidence", {"confidence": round(confidence, 4), "threshold": round(threshold, 4)}
    )


def unsure_place(place_confidence: float) -> RoutingReason:
    return RoutingReason("unsure_place", {"place_confidence": round(place_confidence, 4)})


AUTO_DISPATCH_OFF = RoutingReason("auto_dispatch_off")
PERSON_REQUESTED = RoutingReason("person_requested")
NO_PLACE = RoutingReason("no_place")

# The sentences written before the codes existed, to read old decisions.
_NUMBER = r"(-?\d+(?:\.\d+)?)"
_LEGACY: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (
        re.compile(rf"^rule '([^']*)', confidence {_NUMBER} ≥ {_NUMBER}$"),
        "confident",
        ("rule", "confidence", "threshold"),
    ),
    (
        re.compile(rf"^repeats open case (\d+) \(similarity {_NUMBER}\)$"),
        "repeat",
        ("case_id", "similarity"),
    ),
    (
        re.compile(rf"^confidence {_NUMBER} below the threshold {_NUMBER}$"),
        "low_confidence",
        ("confidence", "threshold"),
    ),
    (re.compile(rf"^place not sure enough \({_NUMBER}\)$"), "unsure_place", ("place_confidence",)),
    (re.compile(r"^automatic dispatch is off for this town$"), "auto_dispatch_off", ()),
    (re.compile(r"^the caller asked for a person to dispatch it$"), "person_requested", ()),
    (re.compile(r"^no place found in the request$"), "no_place", ()),
]


def _value(name: str, raw: str) -> Any:
    if name == "rule":
        return raw
    if name == "case_id":
        return int(raw)
    return float(raw)


def parse_legacy(text: str) -> RoutingReason:
    for pattern, code, names in _LEGACY:
        match = pattern.match(text)
        if match:
            return RoutingReason(
                code, {n: _value(n, raw) for n, raw in zip(names, match.groups(), strict=True)}
            )
    return RoutingReason("other", {"text": text})


def reason_of(scores: dict[str, Any] | None, text: str) -> RoutingReason:
    """The stored code and parameters, else what the stored sentence says."""
    stored = (scores or {}).get(SCORES_KEY)
    if isinstance(stored, dict) and isinstance(stored.get("code"), str):
        params = stored.get("params")
        return RoutingReason(stored["code"], dict(params) if isinstance(params, dict) else {})
    return parse_legacy(text)
