"""The clinicians' web pages under /app, and the patients' form under /skjema, served by the
same service as the API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import patient_form
from api.web.pages import STATIC
from api.web.routes import router

__all__ = ["install", "router"]


def install(app: FastAPI) -> None:
    """Add the pages and their static files (CSS, JavaScript, vendored libraries)."""
    app.include_router(router)
    app.include_router(patient_form.router)  # the patients' form under /skjema
    app.mount("/app/static", StaticFiles(directory=STATIC), name="app-static")
