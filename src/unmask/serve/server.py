"""Run the app under uvicorn (one process; analysis runs in the app's own worker processes)."""

from __future__ import annotations

import logging

from .settings import ServeSettings


def run(settings: ServeSettings, log_level: str = "info") -> None:
    """Serve until interrupted. Proxy headers are not trusted, so rate limits see the real peer."""
    import uvicorn

    from .app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level,
                proxy_headers=False, server_header=False, timeout_graceful_shutdown=15)
