"""The state machine is a table: (state, action) → next state.

An action that is not a key here for the case's current state is refused with 409 and
the list of actions that *are* allowed. Actions that record something without moving the
case (first contact, extension requests, supervision, whistles) map a state to itself.
"""

from __future__ import annotations

from townops.cases.enums import Action, State

S, A = State, Action

_STAYS: dict[Action, tuple[State, ...]] = {
    A.first_contact: (S.dispatched, S.accepted, S.reopened),
    A.request_extension: (S.accepted, S.reopened),
    A.approve_extension: (S.dispatched, S.accepted, S.reopened, S.returned),
    A.deny_extension: (S.dispatched, S.accepted, S.reopened, S.returned),
    A.supervise: (S.received, S.dispatched, S.accepted, S.returned, S.reopened, S.resolved),
    A.whistle: (S.received, S.dispatched, S.accepted, S.returned, S.reopened),
    A.report_in: (S.received, S.dispatched, S.accepted, S.returned, S.reopened, S.resolved),
    # The requester may add to a case at any time, before or after it is closed.
    A.comment: tuple(S),
    # Whoever is told of a case still waiting for someone to act may say they have seen it.
    A.acknowledge: (S.received, S.dispatched, S.accepted, S.returned, S.reopened),
}

TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.received, A.dispatch): S.dispatched,
    (S.returned, A.dispatch): S.dispatched,
    (S.dispatched, A.dispatch): S.dispatched,  # 改派: re-dispatch before it is accepted
    (S.received, A.link): S.linked,
    (S.returned, A.link): S.linked,
    (S.linked, A.dispatch): S.dispatched,  # not a repeat after all: dispatch it on its own
    (S.linked, A.resolve): S.resolved,  # answered with the reply of the case it repeats
    (S.dispatched, A.accept): S.accepted,
    (S.dispatched, A.return_): S.returned,
    (S.accepted, A.return_): S.returned,
    (S.accepted, A.resolve): S.resolved,
    (S.reopened, A.resolve): S.resolved,
    (S.resolved, A.callback): S.callback,
    (S.resolved, A.close): S.closed,
    (S.callback, A.close): S.closed,
    (S.resolved, A.reopen): S.reopened,
    (S.callback, A.reopen): S.reopened,
    (S.closed, A.reopen): S.reopened,
    **{(state, action): state for action, states in _STAYS.items() for state in states},
}


def next_state(state: State, action: Action) -> State | None:
    return TRANSITIONS.get((state, action))


def allowed_actions(state: State) -> list[str]:
    return sorted(action.value for (s, action) in TRANSITIONS if s == state)
