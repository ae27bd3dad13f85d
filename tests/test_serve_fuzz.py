"""Property-based fuzzing of the service's OpenAPI document with schemathesis: no request, however odd,
gets a 5xx answer. Runs a bounded number of examples per operation against the real app."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from unmask.serve.app import create_app  # noqa: E402
from unmask.serve.settings import ServeSettings  # noqa: E402

GenerationMode = schemathesis.GenerationMode


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):
    data: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(ServeSettings(data_dir=data, profile="fast", workers=1, rate_limit=0, queue_size=20,
                                   max_upload_bytes=256 * 1024))
    with TestClient(app):  # runs the lifespan: store and worker pool
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors(api_schema) -> None:
    """Every operation, positive and negative examples (schemathesis's pytest plugin is not used: it does not
    run on this pytest version)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            response = case.call()
            assert response.status_code < 500, (f"{case.method} {case.formatted_path}: "
                                                f"{response.status_code} {response.text[:300]}")

        try:
            check()
        except Unsatisfiable:  # no invalid request exists for an operation without inputs
            assert mode == GenerationMode.NEGATIVE
    metrics = api_schema.app.state.service.metrics.render(0, {}, 1)
    codes = {line.split('"')[1] for line in metrics.splitlines() if line.startswith("unmask_http_requests_total{")}
    assert {"200", "202", "404", "422"} <= codes, codes  # the fuzzer reached the handlers, not only validation
