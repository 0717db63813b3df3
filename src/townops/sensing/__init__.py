"""一网感知 sensing: devices, their readings, alarm rules, alarms that open cases.

* :mod:`.devices` — the device registry (设备台账), device routes, ingestion keys, history.
* :mod:`.ingest` — readings in: the wire format, the one ingestion use case that both
  transports call (MQTT, HTTP), the reading pipeline, what is set aside.
* :mod:`.alarms` — pure alarm rules, the alarm lifecycle (alarm → case), the offline
  sweep, the alarm routes.
* :mod:`.kpi` — the sensing KPIs (感知指标) and their route.

At the top: :mod:`.models` (the tables), :mod:`.config` (``sensing.yaml``) and
:mod:`.simulator` (the device simulator). Imports go ingest → alarms → devices, never back.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.sensing``, never its modules (the ``protected`` contracts of .importlinter).
"""

from townops.sensing.config import SensingConfig
from townops.sensing.devices.registry import online_condition
from townops.sensing.models import ALARM_STATES, Alarm, Device, DeviceState

__all__ = ["ALARM_STATES", "Alarm", "Device", "DeviceState", "SensingConfig", "online_condition"]
