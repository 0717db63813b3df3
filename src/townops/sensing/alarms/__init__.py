"""Alarms: rules, lifecycle, the offline sweep, the alarm routes.

* :mod:`.rules` — alarm rules as pure functions (state + reading → event).
* :mod:`.lifecycle` — raise, acknowledge, clear, false alarm; storm control; alarm → case;
  who sees and who may act on an alarm; alarm lists.
* :mod:`.sweep` — the heartbeat-lost sweep (``offline`` rules).
* :mod:`.schemas`, :mod:`.api` — the alarm routes.
"""
