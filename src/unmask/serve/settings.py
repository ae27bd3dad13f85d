"""Settings of one `unmask serve` instance: where it keeps its data and what it allows (picklable, light)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..limits import DEFAULT_LIMITS, Limits

DEFAULT_MAX_UPLOAD = 100 * 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """Options of `unmask serve`; the defaults are safe for a local, single-user server.

    `rate_limit` is analyses per minute per API key (or per client address without keys), 0 = off.
    `database_url` defaults to SQLite in `data_dir`; a `postgresql://` URL uses PostgreSQL instead.
    `lease_seconds`: how long a job claimed by this server stays its own without a heartbeat (renewed
    four times per period while the server runs); a server that dies loses its jobs to the others
    after this long. `server_id` names this server as the owner of its leases (default: host, process id
    and a random part; it must differ between servers sharing a store).
    """

    data_dir: Path = Path("unmask-data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    profile: str = "default"
    queue_size: int = 100
    api_keys: tuple[str, ...] = ()
    rate_limit: int = 120
    cors_origins: tuple[str, ...] = ()
    allow_url_fetch: bool = False
    database_url: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_attempts: int = 3
    job_timeout_s: float = 600.0
    wait_timeout_s: float = 30.0
    lease_seconds: float = 30.0
    server_id: str | None = None
    limits: Limits = field(default=DEFAULT_LIMITS)

    @property
    def upload_limit(self) -> int:
        """Bytes accepted per upload: the server option, never above the loader's own byte limit."""
        return min(self.max_upload_bytes, self.limits.max_bytes)

    def db_url(self) -> str:
        """The SQLAlchemy URL of the job store."""
        return self.database_url or f"sqlite:///{(Path(self.data_dir) / 'jobs.sqlite3').resolve()}"
