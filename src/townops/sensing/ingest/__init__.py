"""Readings in: over MQTT or HTTP, through one use case, into the pipeline.

* :mod:`.service` — :func:`~townops.sensing.ingest.service.ingest`, the one use case both
  transports call: the whole admission policy, what is stored, what is set aside and why,
  and the transactions.
* :mod:`.messages` — the wire format (topic, payload) and its parsing.
* :mod:`.pipeline` — ``process_readings``: store, device states, rules, alarms, cases.
* :mod:`.quarantine` — set-aside messages kept in ``quarantined_messages``.
* :mod:`.mqtt` — the MQTT transport (the ingester); :mod:`.api` — the HTTP transport
  (``POST /api/v1/devices/{device_id}/readings``), with :mod:`.schemas`.
"""
