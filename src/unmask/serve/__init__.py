"""`unmask serve`: a REST service (FastAPI) with a job store, a worker pool and a web page.

Needs the `serve` extra (fastapi, uvicorn, python-multipart, sqlalchemy); `import unmask` never imports it.
See docs/service.md.
"""

from __future__ import annotations

from .settings import ServeSettings

__all__ = ["ServeSettings"]
