"""The HTTP transport of ingestion: ``POST /api/v1/devices/{device_id}/readings``.

For devices that cannot speak MQTT: the body is one payload of the MQTT wire format or a
list of them, the client authenticates with an ingestion key bound to the device
(``X-API-Key``; ``townops api-key create NAME --purpose ingest --device ID``; an Open311
key is refused). The route holds no ingestion rule: it checks the key, reads the body,
calls :func:`townops.sensing.ingest.service.ingest` and translates its outcome — what was
stored, or the refusal as a domain error (404 unknown device, 409 inactive device, 422
with the problems of a body that cannot be used). What is set aside, why, and in which
transaction is the use case's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from townops.errors import Conflict, InvalidInput, NotFound
from townops.sensing.devices.keys import require_ingest_key
from townops.sensing.ingest.pipeline import INACTIVE_DEVICE, UNKNOWN_DEVICE
from townops.sensing.ingest.schemas import IngestOut, IngestProblem
from townops.sensing.ingest.service import IngestOutcome, Message, SessionFactory, ingest
from townops.timeutil import utcnow

router = APIRouter(tags=["alarms", "devices"])


@router.post(
    "/api/v1/devices/{device_id}/readings",
    response_model=IngestOut,
    summary="Send readings (devices that cannot speak MQTT)",
)
async def post_readings(
    device_id: str,
    request: Request,
    x_api_key: Annotated[
        str | None, Header(description="An ingestion key bound to this device")
    ] = None,
) -> IngestOut:
    """Body: ``{"seq": N, "ts": "<ISO 8601 with offset>", "values": {...}}`` or a list of
    them (at most 1,000), as on MQTT. The answer says what was stored and what it raised.
    The key must be an ``ingest`` key bound to the device (403 otherwise, with the reason)."""
    payload = await request.body()
    sessions: SessionFactory = request.app.state.session_factory
    # The database work blocks: off the event loop, as for the synchronous routes.
    outcome = await run_in_threadpool(
        _ingest,
        sessions,
        device_id=device_id,
        payload=payload,
        api_key=x_api_key,
        path=request.url.path,
    )
    return _answer(device_id, outcome)


def _ingest(
    sessions: SessionFactory, *, device_id: str, payload: bytes, api_key: str | None, path: str
) -> IngestOutcome:
    with sessions() as session:
        require_ingest_key(session, key=api_key, device_id=device_id)
    received_at = utcnow()
    message = Message(path, payload, received_at, device_id=device_id)
    return ingest(sessions, "http", [message], now=received_at)


def _answer(device_id: str, outcome: IngestOutcome) -> IngestOut:
    """The outcome as the answer, or as the domain error of its refusal."""
    if outcome.refused == UNKNOWN_DEVICE:
        raise NotFound(f"device '{device_id[:64]}' is not registered", reason=UNKNOWN_DEVICE)
    if outcome.refused == INACTIVE_DEVICE:
        raise Conflict(f"device '{device_id}' is inactive", reason=INACTIVE_DEVICE)
    if outcome.refused is not None:
        raise InvalidInput(
            "the readings could not be used; nothing was stored",
            problems=[
                IngestProblem(index=p.index, reason=p.reason, detail=p.detail).as_dict()
                for p in outcome.problems
            ],
        )
    result = outcome.result
    assert result is not None
    return IngestOut(
        stored=result.stored,
        duplicates=result.duplicates,
        late=result.late,
        alarms_raised=result.alarms_raised,
        alarms_cleared=result.alarms_cleared,
        cases_opened=result.cases_opened,
    )
