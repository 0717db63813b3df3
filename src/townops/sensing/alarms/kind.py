"""The case kind of device alarms (物联告警), registered with the case engine by sensing.

An alarm of at least ``cases.min_severity`` opens one (:mod:`townops.sensing.alarms.lifecycle`).
Nobody files one by hand; an alarm in a home names the household to call, so the unit that
must go there sees its contact data and the case is never published.
"""

from __future__ import annotations

from townops.cases.kinds import CaseKindRule, register_kind

IOT_ALARM = CaseKindRule(
    "iot_alarm", "物联告警", "IoT alarm", by_person=False, public=True, household=True
)


def register() -> None:
    register_kind(IOT_ALARM)
