"""What every page shares: the sign-in cookie, the language, templates, and refusals shown
as pages (never JSON) to a person in a browser. Security headers are the app's one policy
(:mod:`api.headers`), as on every other response."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

import jwt
from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.auth import Principal, decode_token
from api.deps import SettingsDep
from api.errors import STATUS
from api.web.i18n import INFO_KINDS, LANGUAGES, SHAPES, Words, local, masked, short
from runtime.settings import Settings
from usecases.errors import Declined

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
COOKIE = "triage_session"
LANG_COOKIE = "lang"
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals.update(
    shapes=SHAPES, info_kinds=INFO_KINDS, local=local, masked=masked, short=short
)


class LoginRequired(Exception):
    """No valid clinician cookie: the browser is sent to the sign-in page."""


class WebRoute(APIRoute):
    """Refusals become HTML pages, and a missing sign-in the way to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse("/app/login", status_code=303)
            except HTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))
            except Declined as exc:  # a use case said no: the same page, the same status
                return error_page(request, STATUS[exc.why], exc.text)

        return route


def language(request: Request) -> str:
    """``?lang=`` first, then the cookie the language switch set, then bokmål."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGUAGES else "nb"


def fragment(request: Request, name: str, **context: Any) -> str:
    """A template rendered to text in the request's language."""
    lang = language(request)
    return templates.get_template(name).render(
        t=Words(lang),
        lang=lang,
        request=request,
        path=request.url.path,
        now=dt.datetime.now(dt.UTC),
        principal=getattr(request.state, "web_principal", None),
        **context,
    )


def render(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    response = HTMLResponse(fragment(request, name, **context), status_code=code)
    if request.query_params.get("lang") in LANGUAGES:
        lang = language(request)
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", max_age=365 * 24 * 3600)
    return response


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    title = {403: "refused", 404: "not_found"}.get(status, "error")
    return render(request, "error.html", code=status, title=title, detail=detail)


def principal_from_token(token: str, settings: Settings) -> Principal | None:
    """The clinician a token names, or None (invalid, expired, or a patient's token)."""
    try:
        principal = decode_token(settings, token.strip())
    except jwt.InvalidTokenError:
        return None
    return principal if principal.is_staff else None


async def signed_in(request: Request, settings: SettingsDep) -> Principal:
    token = request.cookies.get(COOKIE)
    principal = principal_from_token(token, settings) if token else None
    if principal is None:
        raise LoginRequired
    request.state.web_principal = principal
    return principal


Clinician = Annotated[Principal, Depends(signed_in)]


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form body as a dict (the last value of a repeated field wins)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


Form = Annotated[dict[str, str], Depends(form_fields)]


def back_to(target: str | None, fallback: str = "/app") -> RedirectResponse:
    """After a form: back where it came from, if that is a page of this app."""
    target = target or fallback
    if not target.startswith("/app") or "//" in target or "\\" in target:
        target = fallback
    return RedirectResponse(target, status_code=303)
