"""一网感知 sensing: devices, their readings, alarm rules, alarms that open cases.

* :mod:`.devices` — the device registry (设备台账), device routes, ingestion keys, history.
* :mod:`.ingest` — readings in: the wire format, the one ingestion use case that both
  transports call (MQTT, HTTP), the reading pipeline, what is set aside.
* :mod:`.alarms` — pure alarm rules, the alarm lifecycle (alarm → case), the offline
  sweep, the alarm routes.
* :mod:`.kpi` — the sensing KPIs (感知指标) and their route.

At the top: :mod:`.models` (the tables), :mod:`.config` (``sensing.yaml``) and
:mod:`.simulator` (the device simulator). Imports go ingest → alarms → devices, never back.
"""
