"""The job store: SQLAlchemy Core over SQLite (WAL) by default, or PostgreSQL through the same code.

The database is the queue: an accepted job is a row in status `queued`; a worker slot claims it with a
conditional UPDATE (queued -> running, attempts + 1), so two claimers never get the same job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

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
    sa.Index("ix_jobs_status_seq", "status", "seq"),
)

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
    """An engine for `url`; SQLite gets WAL mode and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 15},
                                  pool_size=8, max_overflow=32)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=32)


class JobStore:
    """Jobs and cached results. Every method is one short transaction, safe from any thread."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        META.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

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
            return conn.execute(JOBS.insert().from_select(cols, values)).rowcount == 1

    def claim(self) -> dict[str, Any] | None:
        """Take the oldest queued job: status running, attempts + 1. None when nothing is queued."""
        for _ in range(20):
            with self.engine.begin() as conn:
                seq = conn.execute(sa.select(JOBS.c.seq).where(JOBS.c.status == "queued")
                                   .order_by(JOBS.c.seq).limit(1)).scalar()
                if seq is None:
                    return None
                done = conn.execute(JOBS.update().where(JOBS.c.seq == seq, JOBS.c.status == "queued")
                                    .values(status="running", attempts=JOBS.c.attempts + 1,
                                            updated_at=time.time())).rowcount
                if done == 1:
                    return dict(conn.execute(sa.select(JOBS).where(JOBS.c.seq == seq)).mappings().one())
        return None

    def update(self, job_id: str, expect: str | None = None, **values: Any) -> bool:
        """Set fields of a job (only while it is in status `expect`, when given); True when a row changed."""
        cond = [JOBS.c.id == job_id] + ([JOBS.c.status == expect] if expect else [])
        with self.engine.begin() as conn:
            return conn.execute(JOBS.update().where(*cond).values(**values, updated_at=time.time())).rowcount == 1

    def requeue_running(self) -> int:
        """After a crash: every job left `running` goes back to `queued` (its attempt still counts)."""
        with self.engine.begin() as conn:
            return conn.execute(JOBS.update().where(JOBS.c.status == "running")
                                .values(status="queued", updated_at=time.time())).rowcount

    def release(self, job_id: str) -> None:
        """A graceful shutdown interrupted this job: queue it again without counting the attempt."""
        with self.engine.begin() as conn:
            conn.execute(JOBS.update().where(JOBS.c.id == job_id, JOBS.c.status == "running")
                         .values(status="queued", attempts=JOBS.c.attempts - 1, updated_at=time.time()))

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


def attachments_of(job: dict[str, Any]) -> list[str]:
    return list(json.loads(job.get("attachments") or "[]"))


def attachments_json(shas: Iterable[str]) -> str:
    return json.dumps(list(shas))
