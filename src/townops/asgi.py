"""ASGI entry point for uvicorn workers: ``townops.asgi:app``."""

from townops.app import create_app
from townops.auth.sessions import secret_key_problem

app = create_app()
# Outside the demo the signing key must come from the environment (docs/security.md).
_problem = secret_key_problem(app.state.settings, app.state.engine)
if _problem is not None:
    raise RuntimeError(_problem)
