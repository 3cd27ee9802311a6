"""What the API's routes and handlers are given: the settings the app was built with.

:func:`api.app.create_app` keeps its settings on ``app.state.settings``; routes declare
``settings: SettingsDep`` and handlers outside dependency injection call
:func:`settings_of`, so the whole API answers with the settings of its own app (a test or a
bench can build an app with settings of its own) and reads the environment only once.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from runtime.settings import Settings


def settings_of(request: HTTPConnection) -> Settings:
    """The settings of the app serving ``request``."""
    return cast(Settings, request.app.state.settings)


async def get_app_settings(request: HTTPConnection) -> Settings:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread.
    return settings_of(request)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
