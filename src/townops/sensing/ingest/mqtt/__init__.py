"""The MQTT transport: readings in over MQTT v5, stored once, acknowledged after commit.

* Each ingester process has a fixed client id (``townops-ingest-{town}-{n}``), a persistent
  session (clean start off, a 7-day session expiry) and a QoS 1 membership of the shared
  subscription ``$share/townops/townops/{town}/devices/+/readings``: the broker splits the
  stream between the processes and queues each one's share while it is down
  (:mod:`.connection`).
* A message is added to the open batch as it is; nothing is acknowledged yet (gmqtt runs
  with ``optimistic_acknowledgement=False``, and QoS 1 messages skip its task-per-message
  path: see :meth:`.connection.Subscriber._take_over_qos1`).
* A batch is sealed at ``batch_size`` messages or ``batch_ms`` after its first one
  (:mod:`.batches`), and stored in a worker thread while the event loop goes on receiving:
  :func:`townops.sensing.ingest.service.ingest` reads the messages, runs the pipeline, sets
  aside what cannot be stored and COMMITs, all in ONE transaction; only then do the
  batch's PUBACKs leave, in one write (:mod:`.ingester`).
* Nothing is acknowledged that is not committed (:mod:`.store`). A database that is down is
  retried with backoff for as long as it takes; a batch that fails for any other reason is
  halved until the one message that cannot be stored is found and set aside
  (``ingest_error``) with its raw payload. A process that dies leaves its messages
  unacknowledged, and the broker delivers them again when the session reconnects;
  ``(device_id, seq)`` makes that safe.
* Processes (:mod:`.workers`): one ingester per process, several under a supervisor, one in
  a thread, or one retiring; options and counters in :mod:`.options`, the broker's address
  and reconnection in :mod:`.broker`.
"""
