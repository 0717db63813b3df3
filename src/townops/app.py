"""The application factory: builds the engine from settings, never at import."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select

from townops import __version__, domains
from townops.api.auth import router as auth_router
from townops.api.categories import router as categories_router
from townops.api.errors import ERROR_RESPONSES, OPEN311_ERROR_RESPONSES, install_error_handlers
from townops.api.gazetteer import router as gazetteer_router
from townops.api.jurisdictions import router as jurisdiction_router
from townops.api.limits import install_request_limits
from townops.assessment.api import router as assessment_router
from townops.casefile.api import router as casefile_router
from townops.cases.api import kinds_router as case_kinds_router
from townops.cases.api import router as cases_router
from townops.cases.tracking_api import router as tracking_router
from townops.db import make_engine, make_session_factory
from townops.dispatch.api import router as dispatch_router
from townops.duty.api import router as duty_router
from townops.forecast.api import router as forecast_router
from townops.kpi.api import router as kpi_router
from townops.media.api import router as media_router
from townops.notify.api import router as notify_router
from townops.open311.api import router as open311_router
from townops.risk.api import router as risk_router
from townops.sensing.alarms.api import router as alarms_router
from townops.sensing.devices.api import router as devices_router
from townops.sensing.ingest.api import router as readings_router
from townops.sensing.kpi.api import router as sensing_kpi_router
from townops.settings import Settings, get_settings
from townops.signs.api import router as signs_router
from townops.systemic.api import router as systemic_router
from townops.towns.models import TownRecord
from townops.web.api import router as web_api_router
from townops.web.docs import install_api_docs
from townops.web.not_found import install_not_found_page
from townops.web.routes import router as web_pages_router
from townops.web.tiles import router as map_tiles_router


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    domains.install()
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    app = FastAPI(
        title="townops",
        version=__version__,
        description="一网统管 case engine: 12345 hotline, Open311 GeoReport v2, KPIs.",
        # Served from the package by install_api_docs: the defaults load them from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    install_error_handlers(app)
    install_request_limits(app, settings)
    install_api_docs(app)
    install_not_found_page(app)
    for router in (
        alarms_router,
        assessment_router,
        auth_router,
        # Before the case file's /cases/{case_id}: /cases/export.xlsx is not a case id.
        cases_router,
        casefile_router,
        case_kinds_router,
        categories_router,
        devices_router,
        dispatch_router,
        forecast_router,
        gazetteer_router,
        jurisdiction_router,
        kpi_router,
        map_tiles_router,
        media_router,
        notify_router,
        duty_router,
        open311_router,
        readings_router,
        risk_router,
        sensing_kpi_router,
        signs_router,
        systemic_router,
        tracking_router,
        web_api_router,
        # Last: the pages' catch-all routes must not shadow the API.
        web_pages_router,
    ):
        # Every error a route may answer is documented (Open311's in its own format).
        responses = OPEN311_ERROR_RESPONSES if router is open311_router else ERROR_RESPONSES
        app.include_router(router, responses=responses)

    @app.get("/healthz", tags=["ops"], responses=ERROR_RESPONSES)
    def healthz() -> dict[str, Any]:
        with app.state.session_factory() as session:
            town = session.scalars(select(TownRecord.code)).first()
        return {"status": "ok", "town": town, "version": __version__}

    return app
