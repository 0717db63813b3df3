"""Devices: the registry (设备台账) and what is known of each device.

* :mod:`.registry` — import from CSV/XLSX, list and look up, who is online, who may see.
* :mod:`.facts` — a device as ingestion and alarms see it (``DeviceInfo``), cached per
  database; the device id's pattern.
* :mod:`.keys` — ingestion keys: which key may post readings for which device.
* :mod:`.telemetry` — a device's history: raw readings, roll-ups, compaction.
* :mod:`.schemas`, :mod:`.api` — the device routes (registry, history).
"""
