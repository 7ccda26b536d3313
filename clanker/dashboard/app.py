"""The Quart-Trio application: the guard in front of /api, error bodies, security headers and
the built SPA. Routes live in the ``routes_*`` modules."""

from __future__ import annotations

import logging
from pathlib import Path

from quart import Response, request, send_from_directory
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from clanker.dashboard import (
    routes_actions,
    routes_initiative,
    routes_memory,
    routes_memory_curation,
    routes_memory_embedding,
    routes_memory_recall,
    routes_reflection,
    routes_runtime,
    routes_sandbox,
    routes_settings,
    routes_voice,
)
from clanker.dashboard.auth import SESSION_COOKIE, cross_site_problem
from clanker.dashboard.context import ApiContext, ApiProblem, problem_body
from clanker.dashboard.shapes import ApiError
from clanker.dashboard.speech_upload import SpeechUploadRequest

log = logging.getLogger("clanker.dashboard")

PUBLIC_API_PATHS = frozenset({"/api/auth/session"})
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
NOT_BUILT = (
    "The dashboard SPA is not built. Build it with:\n\n"
    "    cd dashboard && npm ci && npm run build\n\n"
    "(the JSON API under /api works without it)\n"
)


def create_app(ctx: ApiContext) -> QuartTrio:
    """The dashboard's ASGI app over ``ctx``."""
    app = QuartTrio("clanker.dashboard")
    app.request_class = SpeechUploadRequest  # push-to-talk recordings exceed the body limit
    app.config["MAX_CONTENT_LENGTH"] = ctx.config.max_body_bytes
    app.config["RESPONSE_TIMEOUT"] = 60
    app.config["BODY_TIMEOUT"] = 30

    @app.before_request
    async def guard() -> Response | None:
        path = request.path
        if not path.startswith("/api/") and path != "/api":
            return None
        problem = cross_site_problem(request.method, request.headers, request.host)
        if problem is not None:
            return ctx.json(ApiError(error=problem), 403)
        if path in PUBLIC_API_PATHS:
            return None
        if ctx.auth.authorise(request.headers, request.cookies.get(SESSION_COOKIE)) is None:
            return ctx.json(
                ApiError(
                    error="missing or wrong dashboard token: send 'Authorization: Bearer "
                    '<token>\' or log in with POST /api/auth/session {"token": ...}'
                ),
                401,
            )
        return None

    @app.after_request
    async def headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.path.startswith("/api"):
            response.headers["Cache-Control"] = "no-store"
        else:
            response.headers["Content-Security-Policy"] = CSP
        return response

    @app.errorhandler(ApiProblem)
    async def api_problem(exc: ApiProblem) -> Response:
        response = ctx.json(problem_body(exc), exc.status)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 413:
            message = f"the request body is larger than {ctx.config.max_body_bytes} bytes"
        elif status == 405 and _only_catch_all(app, request.path):
            status, message = 404, f"no such endpoint: {request.method} {request.path}"
        elif status == 405:
            allowed = sorted(getattr(exc, "valid_methods", None) or [])
            message = f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}"
        elif status == 404:
            message = f"no such endpoint: {request.method} {request.path}"
        else:
            message = exc.description or exc.name
        if not request.path.startswith("/api"):
            return Response(message + "\n", status=status, content_type="text/plain")
        return ctx.json(ApiError(error=message), status)

    @app.errorhandler(Exception)
    async def internal(exc: Exception) -> Response:
        log.error("dashboard: %s %s failed", request.method, request.path, exc_info=exc)
        return ctx.json(ApiError(error=f"internal error ({type(exc).__name__})"), 500)

    routes_runtime.register(app, ctx)
    routes_actions.register(app, ctx)
    routes_settings.register(app, ctx)
    routes_sandbox.register(app, ctx)
    routes_voice.register(app, ctx)
    routes_memory.register(app, ctx)
    routes_memory_curation.register(app, ctx)
    routes_memory_embedding.register(app, ctx)
    routes_reflection.register(app, ctx)
    routes_memory_recall.register(app, ctx)
    routes_initiative.register(app, ctx)
    _register_spa(app, ctx)
    return app


def _only_catch_all(app: QuartTrio, path: str) -> bool:
    """Whether ``path`` is matched only by the catch-alls (so 405 really means 404)."""
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return True
    return endpoint in ("unknown_api", "spa")


def _register_spa(app: QuartTrio, ctx: ApiContext) -> None:
    static = ctx.config.static_dir

    def built() -> Path | None:
        if static is not None and (static / "index.html").is_file():
            return static
        return None

    @app.get("/api/<path:rest>")
    async def unknown_api(rest: str) -> Response:
        raise ApiProblem(404, f"no such endpoint: {request.method} /api/{rest}")

    @app.get("/")
    @app.get("/<path:path>")
    async def spa(path: str = "") -> Response:
        root = built()
        if root is None:
            return Response(NOT_BUILT, status=503, content_type="text/plain")
        target = (root / path).resolve() if path else root / "index.html"
        if path and target.is_file() and target.is_relative_to(root.resolve()):
            response = await send_from_directory(root, path)
            if path.startswith("assets/"):
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            return response
        response = await send_from_directory(root, "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response
