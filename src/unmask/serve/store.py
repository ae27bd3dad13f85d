"""The job store: SQLAlchemy Core over SQLite (WAL) by default, or PostgreSQL through the same code.

The database is the queue: an accepted job is a row in status `queued`. A server claims it with a lease:
status `running`, attempts + 1, `lease_owner` (the server's id) and `lease_expires_at`, in one conditional
UPDATE (on PostgreSQL after `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's
rows instead of queueing behind them), so two claimers never get the same job. A live server renews its
leases (`renew`, from a heartbeat thread); a job whose lease expired (its server died) is claimed again
like a queued one. Every later change of a running job (`finish`) is conditional on still holding the
claim (same owner and attempt), so a server whose lease was taken over cannot overwrite the new holder.
Lease times come from the database's clock, so servers on machines whose clocks differ agree on them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("unmask.serve")

STATUSES = ("queued", "running", "done", "failed")
META = sa.MetaData()

JOBS = sa.Table(
    "jobs", META,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("filename", sa.String(255)),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("profile", sa.String(16), nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=False),
    sa.Column("attachments", sa.Text, nullable=False, default="[]"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("report_path", sa.String(255)),
    sa.Column("error", sa.Text),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("verdict_label", sa.String(32)),
    sa.Column("verdict_probability", sa.Float),
    sa.Column("media_type", sa.String(32)),
    sa.Column("lease_owner", sa.String(128)),  # the server that claimed it last (kept when it ends)
    sa.Column("lease_expires_at", sa.Float),  # while running: the claim is void after this (database clock)
    sa.Column("heartbeat_at", sa.Float),  # while running: the holder's last renewal (database clock)
    sa.Index("ix_jobs_status_seq", "status", "seq"),
)
LEASE_COLUMNS = ("lease_owner", "lease_expires_at", "heartbeat_at")  # added to stores made before leases
_SCHEMA_LOCK = 0x756E6D61736B  # PostgreSQL advisory lock key: one server at a time creates the schema

RESULTS = sa.Table(
    "results", META,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("profile", sa.String(16), nullable=False),
    sa.Column("path", sa.String(255), nullable=False),
    sa.Column("verdict_label", sa.String(32)),
    sa.Column("verdict_probability", sa.Float),
    sa.Column("media_type", sa.String(32)),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; busy_timeout makes writers wait instead of failing;
    synchronous=FULL makes every commit durable before it returns."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL mode and a busy timeout on every connection. A plain
    `postgresql://` URL uses psycopg 3 (the driver of the `serve` extra)."""
    parsed = sa.engine.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite"):
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 15},
                                  pool_size=8, max_overflow=32)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=32)
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"the database driver for {parsed.drivername} is missing ({exc.name}): "
                           'pip install "unmask[serve]" (psycopg 3 for postgresql+psycopg://)') from exc


def db_now(dialect: str) -> sa.ColumnElement[float]:
    """The database's clock in Unix seconds, as an SQL expression (Python's clock for other databases)."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    if dialect == "sqlite":
        return (sa.func.julianday("now") - 2440587.5) * 86400.0
    return sa.literal(time.time(), sa.Float)


def _add_missing_columns(conn: Connection) -> list[str]:
    """Add the lease columns to a `jobs` table made by an older unmask (nullable, so old rows stay valid:
    a `running` row without a lease counts as expired and is claimed again)."""
    present = {c["name"] for c in sa.inspect(conn).get_columns("jobs")}
    added = []
    for name in LEASE_COLUMNS:
        if name not in present:
            kind = JOBS.c[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE jobs ADD COLUMN {name} {kind}"))
            added.append(name)
    return added


def create_schema(engine: Engine, tries: int = 5) -> None:
    """Create missing tables and columns. Servers starting together may race on this: on PostgreSQL an
    advisory lock serialises them; elsewhere a failed attempt is retried after the winner's commit."""
    for attempt in range(tries):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
                META.create_all(conn)
                added = _add_missing_columns(conn)
            if added:
                log.warning("the job store was made by an older unmask: added columns %s", ", ".join(added))
            return
        except sa.exc.DBAPIError:
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


class JobStore:
    """Jobs and cached results. Every method is one short transaction, safe from any thread."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        create_schema(self.engine)
        self.dialect = self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def now(self) -> float:
        """The database's clock (Unix seconds): what lease times are compared with."""
        with self.engine.connect() as conn:
            return float(conn.execute(sa.select(db_now(self.dialect))).scalar_one())

    # -------------------------------------------------------------------------------------- writing jobs

    def add(self, job: dict[str, Any], queue_limit: int | None = None) -> bool:
        """Insert a job. With `queue_limit`, a queued job is only inserted while fewer than that many
        jobs are queued (checked in the same statement); returns False when the queue is full."""
        now = time.time()
        row = {"attachments": "[]", "attempts": 0, "deleted": False, **job, "created_at": now, "updated_at": now}
        with self.engine.begin() as conn:
            if queue_limit is None:
                conn.execute(JOBS.insert().values(**row))
                return True
            cols = list(row)
            depth = sa.select(sa.func.count()).select_from(JOBS).where(JOBS.c.status == "queued").scalar_subquery()
            values = sa.select(*[sa.literal(row[c], JOBS.c[c].type) for c in cols]).where(depth < queue_limit)
            conn.execute(JOBS.insert().from_select(cols, values))
            # read back rather than trust rowcount: psycopg reports -1 for INSERT ... SELECT
            return conn.execute(sa.select(sa.func.count()).select_from(JOBS).where(JOBS.c.id == row["id"])
                                ).scalar_one() == 1

    def add_claimed(self, job: dict[str, Any], owner: str, lease_s: float) -> dict[str, Any]:
        """Insert a job already claimed by `owner` (running, attempt 1, leased): one that a cached result
        finishes at once. Returns the stored row."""
        now = db_now(self.dialect)
        self.add({**job, "status": "running", "attempts": 1, "lease_owner": owner,
                  "lease_expires_at": now + lease_s, "heartbeat_at": now})
        return self.get(job["id"])  # type: ignore[return-value]

    def _claimable(self) -> sa.ColumnElement[bool]:
        """Queued, or running under a lease that has expired (or that a store made before leases lacks)."""
        expired = sa.or_(JOBS.c.lease_expires_at.is_(None), JOBS.c.lease_expires_at < db_now(self.dialect))
        return sa.or_(JOBS.c.status == "queued", sa.and_(JOBS.c.status == "running", expired))

    def claim(self, owner: str, lease_s: float) -> dict[str, Any] | None:
        """Take the oldest claimable job for `owner`: status running, attempts + 1, leased for `lease_s`
        seconds. None when there is nothing to do."""
        for _ in range(20):
            with self.engine.begin() as conn:
                pick = sa.select(JOBS.c.seq, JOBS.c.id, JOBS.c.status, JOBS.c.lease_owner).where(
                    self._claimable()).order_by(JOBS.c.seq).limit(1)
                if self.dialect == "postgresql":
                    pick = pick.with_for_update(skip_locked=True)
                found = conn.execute(pick).first()
                if found is None:
                    return None
                now = db_now(self.dialect)
                taken = conn.execute(JOBS.update().where(JOBS.c.seq == found.seq, self._claimable()).values(
                    status="running", attempts=JOBS.c.attempts + 1, lease_owner=owner,
                    lease_expires_at=now + lease_s, heartbeat_at=now, updated_at=time.time())).rowcount
                if taken == 1:
                    job = dict(conn.execute(sa.select(JOBS).where(JOBS.c.seq == found.seq)).mappings().one())
                    if found.status == "running":
                        log.warning("job %s: the lease of %s expired; claimed again by %s (attempt %d)",
                                    found.id, found.lease_owner or "an older server", owner, job["attempts"])
                    return job
        return None

    def renew(self, owner: str, lease_s: float) -> int:
        """The heartbeat: extend every lease `owner` holds by `lease_s` from now; returns how many."""
        now = db_now(self.dialect)
        with self.engine.begin() as conn:
            return conn.execute(JOBS.update().where(JOBS.c.lease_owner == owner, JOBS.c.status == "running")
                                .values(lease_expires_at=now + lease_s, heartbeat_at=now)).rowcount

    def holds(self, job: dict[str, Any]) -> bool:
        """Whether the claim `job` (a row returned by `claim`) is still the job's current one."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(JOBS).where(*_held(job))).scalar_one() == 1

    def finish(self, job: dict[str, Any], **values: Any) -> bool:
        """Change a running job only while `job`'s claim still holds it (same owner and attempt); False
        when the lease was lost (another server took the job over, or it was put back)."""
        if values.get("status") in ("done", "failed"):
            values.setdefault("lease_expires_at", None)
        with self.engine.begin() as conn:
            return conn.execute(JOBS.update().where(*_held(job)).values(**values, updated_at=time.time())).rowcount == 1

    def requeue(self, job: dict[str, Any], count_attempt: bool = True) -> bool:
        """Put a held job back in the queue and drop its lease; without `count_attempt` (a graceful stop
        interrupted it) its attempt does not count."""
        extra = {} if count_attempt else {"attempts": JOBS.c.attempts - 1}
        return self.finish(job, status="queued", lease_owner=None, lease_expires_at=None, heartbeat_at=None, **extra)

    def release_all(self, owner: str) -> int:
        """A graceful stop: every job `owner` still holds goes back to the queue, its attempt uncounted."""
        with self.engine.begin() as conn:
            return conn.execute(JOBS.update().where(JOBS.c.lease_owner == owner, JOBS.c.status == "running")
                                .values(status="queued", attempts=JOBS.c.attempts - 1, lease_owner=None,
                                        lease_expires_at=None, heartbeat_at=None, updated_at=time.time())).rowcount

    def update(self, job_id: str, expect: str | None = None, **values: Any) -> bool:
        """Set fields of a job (only while it is in status `expect`, when given); True when a row changed.
        Not for running jobs: those change through `finish`, under their lease."""
        cond = [JOBS.c.id == job_id] + ([JOBS.c.status == expect] if expect else [])
        with self.engine.begin() as conn:
            return conn.execute(JOBS.update().where(*cond).values(**values, updated_at=time.time())).rowcount == 1

    # -------------------------------------------------------------------------------------- reading jobs

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).mappings().first()
        return dict(row) if row else None

    def list(self, status: str | None = None, q: str | None = None, limit: int = 50,
             before: int | None = None) -> list[dict[str, Any]]:
        """Newest first; `before` is the seq of the last row of the previous page; `q` is a substring of
        the file name, the SHA-256 or the verdict label (case-insensitive)."""
        query = sa.select(JOBS).order_by(JOBS.c.seq.desc()).limit(limit)
        if status:
            query = query.where(JOBS.c.status == status)
        if before is not None:
            query = query.where(JOBS.c.seq < before)
        if q:
            pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(sa.or_(*(sa.func.lower(c).like(pattern, escape="\\")
                                         for c in (JOBS.c.filename, JOBS.c.sha256, JOBS.c.verdict_label))))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def queue_depth(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(JOBS)
                                .where(JOBS.c.status == "queued")).scalar_one()

    def counts(self) -> dict[str, int]:
        """Jobs in the store per status (every status present, zero when none)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(JOBS.c.status, sa.func.count()).group_by(JOBS.c.status)).all()
        return {s: 0 for s in STATUSES} | {status: n for status, n in rows}

    def live_references(self, sha256: str) -> int:
        """Jobs not deleted whose upload or attachment is this content."""
        like = f'%"{sha256}"%'
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(JOBS).where(
                JOBS.c.deleted.is_(False), sa.or_(JOBS.c.sha256 == sha256, JOBS.c.attachments.like(like)))
            ).scalar_one()

    # ------------------------------------------------------------------------------------ result cache

    def cached(self, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(RESULTS).where(RESULTS.c.key == key)).mappings().first()
        return dict(row) if row else None

    def add_result(self, row: dict[str, Any]) -> None:
        """Record a published result; a concurrent identical result already recorded wins."""
        try:
            with self.engine.begin() as conn:
                conn.execute(RESULTS.insert().values(**row, created_at=time.time()))
        except sa.exc.IntegrityError:
            pass

    def drop_results(self, sha256: str) -> list[str]:
        """Forget every cached result of this content; returns their folders (relative to the data dir)."""
        with self.engine.begin() as conn:
            paths = list(conn.execute(sa.select(RESULTS.c.path).where(RESULTS.c.sha256 == sha256)).scalars())
            conn.execute(RESULTS.delete().where(RESULTS.c.sha256 == sha256))
        return paths


def _held(job: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    """The conditions under which the claim `job` still holds its row: running, same owner, same attempt
    (each claim counts an attempt, so an older claim by the same owner never matches)."""
    return [JOBS.c.id == job["id"], JOBS.c.status == "running", JOBS.c.lease_owner == job["lease_owner"],
            JOBS.c.attempts == job["attempts"]]


def attachments_of(job: dict[str, Any]) -> list[str]:
    return list(json.loads(job.get("attachments") or "[]"))


def attachments_json(shas: Iterable[str]) -> str:
    return json.dumps(list(shas))
