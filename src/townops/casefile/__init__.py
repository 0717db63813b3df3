"""The case file (案卷): one case as a person sees it — the engine's case with what the
domains attached to it: how automatic dispatch routed it (:mod:`townops.dispatch`) and its
photos (:mod:`townops.media`).

It holds the routes that answer with a whole case: filing one (intake checks, then
:func:`townops.dispatch.service.receive_case`), reading one, acting on one. The engine
(:mod:`townops.cases`) knows none of these domains; this package composes them.
"""
