"""Automatic dispatch (自动指令): reading a request, placing it, routing it.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.dispatch``, never its modules (the ``protected`` contracts of .importlinter).
"""

from townops.dispatch.batch import (
    BatchDispatchIn,
    BatchDispatchOut,
    check_batch,
    decisions_for,
    dispatch_item,
    item_failure,
)
from townops.dispatch.models import RoutingDecision
from townops.dispatch.presenters import routing_out
from townops.dispatch.schemas import RoutedCaseOut
from townops.dispatch.service import receive_case

__all__ = [
    "BatchDispatchIn",
    "BatchDispatchOut",
    "RoutedCaseOut",
    "RoutingDecision",
    "check_batch",
    "decisions_for",
    "dispatch_item",
    "item_failure",
    "receive_case",
    "routing_out",
]
