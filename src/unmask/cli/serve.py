"""`unmask serve`: start the web service (unmask.serve, imported only when the command runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..detectors import PROFILES


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Analysis worker processes.")] = 1,
    data_dir: Annotated[Path, typer.Option(help="Uploads, reports and the SQLite job store.")] = Path("unmask-data"),
    profile: Annotated[str, typer.Option(help="Default profile: fast | default | thorough")] = "default",
    queue_size: Annotated[int, typer.Option(min=1, help="Queued jobs before uploads get 429.")] = 100,
    api_key: Annotated[list[str] | None, typer.Option(envvar="UNMASK_API_KEYS", help="Require this X-API-Key "
                                                      "(repeatable; env: space-separated).")] = None,
    rate_limit: Annotated[int, typer.Option(min=0, help="Analyses per minute per key or client (0: off).")] = 120,
    cors_origin: Annotated[list[str] | None, typer.Option(help="Allow this browser origin (repeatable).")] = None,
    allow_url_fetch: Annotated[bool, typer.Option(help="Let clients submit public http(s) image URLs.")] = False,
    database_url: Annotated[str | None, typer.Option(envvar="UNMASK_DATABASE_URL",
                                                     help="postgresql://... (default: SQLite in --data-dir).")] = None,
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload in MiB.")] = 100,
    lease_seconds: Annotated[float, typer.Option(min=1.0, envvar="UNMASK_LEASE_SECONDS",
                                                 help="A running job stays this server's for this long without "
                                                      "a heartbeat; then another server may take it over.")] = 30.0,
) -> None:
    """Start the web service: REST API under /v1 (OpenAPI at /openapi.json) and a web page at /."""
    if profile not in PROFILES:
        raise typer.BadParameter(f"choose one of {', '.join(PROFILES)}", param_hint="--profile")
    try:
        from ..serve.server import run
        from ..serve.settings import ServeSettings
    except ImportError as exc:
        raise typer.BadParameter(f"{exc.name} is missing: pip install \"unmask[serve]\"") from exc
    run(ServeSettings(data_dir=data_dir, host=host, port=port, workers=workers, profile=profile,
                      queue_size=queue_size, api_keys=tuple(api_key or ()), rate_limit=rate_limit,
                      cors_origins=tuple(cors_origin or ()), allow_url_fetch=allow_url_fetch,
                      database_url=database_url, max_upload_bytes=max_upload_mb * 2**20,
                      lease_seconds=lease_seconds))
