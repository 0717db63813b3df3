"""ASGI entry point for uvicorn workers: ``townops.asgi:app``."""

from townops.app import create_app

app = create_app()
