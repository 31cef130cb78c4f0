"""The FastAPI application factory."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from groomwatch import __version__
from groomwatch.server.routes import ROUTE_MODULES
from groomwatch.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="groomwatch", version=__version__)
    app.state.settings = settings
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"groomwatch.server.routes.{name}")
        app.include_router(module.router)
    return app
