"""`create_app(settings)`: the FastAPI application of `unmask serve` (API under /v1, web page at /)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..detectors import Registry
from .api import router
from .security import KeyRing, TokenBuckets
from .service import Service
from .settings import ServeSettings

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("unmask.serve")
_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"SAMEORIGIN")]


class ResponseMiddleware:
    """Counts responses by status code and adds headers every response should carry (pure ASGI, so
    uploads keep streaming)."""

    def __init__(self, app: Any, service: Service) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                self.service.metrics.http(message["status"])
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in _HEADERS if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_wrapper)


def create_app(settings: ServeSettings) -> FastAPI:
    """The app; its lifespan starts the store and worker pool and stops them again."""
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(title="unmask", version=__version__, lifespan=lifespan,
                  description="Is this media real? Upload a file, get a verdict, reasons, heatmaps and masks.")
    app.state.service = service
    app.state.keys = KeyRing(settings.api_keys)
    app.state.buckets = TokenBuckets(settings.rate_limit)
    app.state.detectors = Registry.default().describe()
    app.include_router(router)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(STATIC / "index.html", media_type="text/html")

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["X-API-Key", "Content-Type"],
                           expose_headers=["Retry-After", "Location"])
    app.add_middleware(ResponseMiddleware, service=service)
    return app
