"""Secrets come from the environment at send time, by the name the configuration gives.

The mapping is injected (``os.environ`` in production, a dict in tests), read on each send
so a rotated secret is used without a reload. A missing or empty variable fails the message
permanently, naming the variable, never showing a value.
"""

from __future__ import annotations

from collections.abc import Mapping

from townops.notify.channels.base import PermanentFailure

__all__ = ["Environment", "secret"]

Environment = Mapping[str, str]


def secret(environment: Environment, name: str) -> str:
    """The value of the environment variable ``name``; PermanentFailure if unset or empty."""
    value = environment.get(name, "")
    if not value:
        raise PermanentFailure(
            f"environment variable {name} is not set", detail={"missing_env": name}
        )
    return value
