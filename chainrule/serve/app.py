"""The web application behind ``chainrule serve``: a Starlette app (served by uvicorn).

Routes: ``/`` (the page), ``/static/NAME`` (its scripts and styles, loaded into memory when
the app is made: no request reads a file), ``POST /api/explain|curve|stepthrough`` (the
explorer) and ``/api/net...`` (the playground's models).

Safety: JSON bodies are capped at ``MAX_BODY`` bytes (413 with a message above it), bad
JSON and bad input get 400 with a message (an expression that does not parse or cannot be
evaluated is answered 200 with ``{"error": message}``, since the page sends one as the user
types), every explain runs in a worker thread under a
time limit (503 with a message when it is exceeded; the symbolic work itself has a budget,
so the thread finishes soon after), at most ``max_jobs`` playground models exist at once
(429: wait), and every response carries a Content-Security-Policy that allows only this
server's own scripts, styles and connections.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import resources

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chainrule.explain.errors import ExprError
from chainrule.serve import explorer
from chainrule.serve.playground import BusyError, Limits, Playground

__all__ = ["create_app", "Settings", "MAX_BODY", "CSP"]

#: Largest request body accepted, in bytes.
MAX_BODY = 16 * 1024

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


@dataclass
class Settings:
    """Limits of one app: seconds for one explain request, the symbolic budget given to
    ``cr.explain`` (seconds), explain requests worked on at once, playground models."""

    explain_timeout: float = 10.0
    symbolic_budget: float = 0.5
    explain_workers: int = 2
    max_jobs: int = 8
    idle_s: float = 120.0
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")


class _SecurityHeaders:
    """ASGI middleware: the security headers on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        return await self.app(scope, receive, send_with_headers)


class _Problem(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _assets() -> dict[str, tuple[bytes, str]]:
    """Every file the page needs, read once: name -> (bytes, content type)."""
    from chainrule.explain.page import _CSS, STEP_JS

    out = {}
    folder = resources.files("chainrule.serve") / "static"
    for item in folder.iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if suffix in _TYPES:
            out[item.name] = (item.read_bytes(), _TYPES[suffix])
    out["stepthrough.js"] = (STEP_JS.encode(), _TYPES[".js"])
    out["stepthrough.css"] = (_CSS.encode(), _TYPES[".css"])
    return out


async def _body(request: Request) -> dict:
    """The JSON object of the request, read up to ``MAX_BODY`` bytes."""
    why = (
        f"the limit is {MAX_BODY} bytes (an expression may have at most "
        f"{explorer.MAX_EXPRESSION} characters)"
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _Problem(413, f"the request is too large: {int(declared)} bytes; {why}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise _Problem(413, f"the request is too large: {why}")
    if not data:
        return {}
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _Problem(400, f"the request is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise _Problem(400, "the request must be a JSON object")
    return body


def create_app(settings: Settings | None = None) -> Starlette:
    """The application, with its own playground (models) and limits."""
    settings = settings or Settings()
    assets = _assets()
    playground = Playground(Limits(settings.max_jobs, settings.idle_s))
    workers = threading.BoundedSemaphore(settings.explain_workers)

    def _work(fn, *args):
        # Waits for a free worker no longer than the request's own time limit.
        if not workers.acquire(timeout=settings.explain_timeout):
            raise _Problem(503, "the server is busy explaining; try again in a moment")
        try:
            return fn(*args)
        finally:
            workers.release()

    async def _timed(fn, *args):
        try:
            with anyio.fail_after(settings.explain_timeout):
                return await anyio.to_thread.run_sync(_work, fn, *args, abandon_on_cancel=True)
        except TimeoutError:
            raise _Problem(
                503,
                f"this took longer than {settings.explain_timeout:g} s and was stopped; "
                "try a shorter expression",
            ) from None

    def _answer(handler):
        async def endpoint(request: Request):
            try:
                return JSONResponse(await handler(request))
            except _Problem as err:
                return JSONResponse({"error": str(err)}, status_code=err.status)
            except BusyError as err:
                return JSONResponse({"error": str(err)}, status_code=429)
            except KeyError as err:
                return JSONResponse({"error": err.args[0]}, status_code=404)
            except ExprError as err:
                # Well-formed, but the expression cannot be explained (yet: the person is
                # typing). The page shows the message; a 4xx would also be logged by the
                # browser as a failed load at every keystroke.
                return JSONResponse({"error": " ".join(str(err).split())})
            except ValueError as err:
                return JSONResponse({"error": " ".join(str(err).split())}, status_code=400)
            except RecursionError:
                return JSONResponse({"error": "the expression is too deeply nested"}, 400)

        return endpoint

    def _explorer_args(body):
        return body.get("expression"), body.get("point", {}), body.get("wrt")

    async def explain_(request):
        expr, point, wrt = _explorer_args(await _body(request))
        return await _timed(explorer.explain_payload, expr, point, wrt, settings.symbolic_budget)

    async def curve(request):
        body = await _body(request)
        expr, point, wrt = _explorer_args(body)
        return await _timed(explorer.curve_payload, expr, point, wrt, body.get("half_width"))

    async def stepthrough(request):
        expr, point, wrt = _explorer_args(await _body(request))
        return await _timed(
            explorer.stepthrough_payload, expr, point, wrt, settings.symbolic_budget
        )

    async def net_create(request):
        spec = await _body(request)
        sid, session = await anyio.to_thread.run_sync(playground.create, spec)
        return {"id": sid, **session.state(with_data=True)}

    def _locked(session, fn, *args):
        if not session.lock.acquire(timeout=5):
            raise _Problem(409, "this network is busy with another request")
        try:
            return fn(*args)
        finally:
            session.lock.release()

    async def net_train(request):
        body = await _body(request)
        steps = body.get("steps", 1)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1000:
            raise _Problem(400, f"steps must be a whole number from 1 to 1000, got {steps!r}")
        session = playground.get(request.path_params["sid"])

        def run():
            done = session.train(steps)
            return {"done": done, **session.state()}

        return await anyio.to_thread.run_sync(_locked, session, run)

    async def net_weight(request):
        session = playground.get(request.path_params["sid"])
        try:
            layer, i, j = (int(request.query_params[k]) for k in ("layer", "i", "j"))
        except (KeyError, ValueError):
            raise _Problem(400, "give the weight as ?layer=L&i=I&j=J (whole numbers)") from None
        return await anyio.to_thread.run_sync(_locked, session, session.weight, layer, i, j)

    async def net_close(request):
        playground.close(request.path_params["sid"])
        return {"closed": True}

    async def asset(request):
        name = request.path_params.get("name", "index.html")
        if name not in assets:
            return Response("not found", status_code=404, media_type="text/plain")
        data, kind = assets[name]
        return Response(data, media_type=kind, headers={"cache-control": "no-cache"})

    routes = [
        Route("/", asset),
        Route("/static/{name}", asset),
        Route("/api/explain", _answer(explain_), methods=["POST"]),
        Route("/api/curve", _answer(curve), methods=["POST"]),
        Route("/api/stepthrough", _answer(stepthrough), methods=["POST"]),
        Route("/api/net", _answer(net_create), methods=["POST"]),
        Route("/api/net/{sid}/train", _answer(net_train), methods=["POST"]),
        Route("/api/net/{sid}/weight", _answer(net_weight), methods=["GET"]),
        Route("/api/net/{sid}/close", _answer(net_close), methods=["POST"]),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if settings.allowed_hosts:
        # A page on another site cannot reach this server through a name it controls
        # (DNS rebinding): only these Host headers are answered.
        middleware.append(
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
        )
    app = Starlette(routes=routes, middleware=middleware)
    app.state.playground = playground
    app.state.settings = settings
    return app
