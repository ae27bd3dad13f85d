"""`unmask batch`: millions of files on Ray Data, into a resumable Parquet dataset (docs/scale.md).

- `inputs`: directories, manifests, paths and URIs -> one list of sources; remote files fetched for a worker
- `rows`: the Parquet schema, one row per file, and the configuration key that makes a row reusable
- `output`: parts written atomically, what the folder already holds, JSON Lines from the parts
- `worker`: the Ray Data actor (detectors loaded once per actor; a crash costs one file)
- `engine`: `run_batch`, joining or starting Ray and streaming results into parts

Needs the `scale` extra (`pip install "unmask[scale]"`: Ray Data and pyarrow).
"""

from __future__ import annotations

from .engine import BatchError, BatchJob, BatchSummary, run_batch

__all__ = ["BatchError", "BatchJob", "BatchSummary", "run_batch"]
