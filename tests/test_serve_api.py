"""The service's REST API against the real app (TestClient runs its lifespan: store, worker processes)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette's TestClient warns about httpx on import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from unmask.detectors import Registry
from unmask.report.words import describe
from unmask.serve.app import create_app
from unmask.serve.settings import ServeSettings
from unmask.serve.store import JobStore

HOSTILE = "<script>alert(1)</script>"


def jpeg(seed: int, side: int = 64, exif: dict[int, str] | None = None) -> bytes:
    """A small JPEG with content unique to `seed` (a gradient plus noise, so detectors have work)."""
    rng = np.random.default_rng(seed)
    _, x = np.mgrid[0:side, 0:side]
    img = ((x * 200 // side)[..., None] + rng.integers(0, 40, (side, side, 3))).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    tags = Image.Exif()
    for tag, value in (exif or {}).items():
        tags[tag] = value
    Image.fromarray(img).save(buf, "JPEG", quality=90, exif=tags)
    return buf.getvalue()


def upload(client: TestClient, data: bytes, name: str = "photo.jpg", **params) -> dict:
    r = client.post("/v1/analyses", params=params, files={"file": (name, data, "image/jpeg")})
    assert r.status_code in (200, 202), r.text
    return r.json()


def wait_done(client: TestClient, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/analyses/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def wait_status(client: TestClient, job_id: str, status: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/analyses/{job_id}").json()
        if job["status"] == status:
            return job
        time.sleep(0.005)
    raise AssertionError(f"job {job_id} never reached {status}")


def settings(tmp: Path, **kw) -> ServeSettings:
    base = {"data_dir": tmp, "profile": "fast", "workers": 1, "rate_limit": 0, "queue_size": 50}
    return ServeSettings(**(base | kw))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def client(data_dir: Path):
    with TestClient(create_app(settings(data_dir))) as c:
        yield c


# --------------------------------------------------------------------------------------------- basics


def test_upload_wait_returns_the_full_report(client: TestClient) -> None:
    data = jpeg(1)
    r = client.post("/v1/analyses", params={"wait": "true"}, files={"file": ("one.jpg", data, "image/jpeg")})
    assert r.status_code == 200
    job = r.json()
    assert job["status"] == "done" and job["filename"] == "one.jpg" and job["size"] == len(data)
    assert job["verdict"]["label"] in ("authentic", "inconclusive", "manipulated", "ai-generated")
    assert job["verdict"]["headline"] == describe(job["verdict"]["label"])[0]
    assert 0.0 <= job["verdict"]["probability"] <= 1.0 and job["media_type"] == "image"
    report = job["report"]
    assert report["media"]["sha256"] == job["sha256"] and report["media"]["path"] == "one.jpg"
    assert report["verdict"]["label"] == job["verdict"]["label"] and report["profile"] == "fast"
    schema = json.loads((Path(__file__).parents[1] / "docs" / "report.schema.json").read_text())
    pytest.importorskip("jsonschema").validate(report, schema)
    assert set(job["links"]) == {"self", "report_html", "media"}


def test_upload_without_wait_is_accepted_then_done(client: TestClient) -> None:
    r = client.post("/v1/analyses", files={"file": ("two.jpg", jpeg(2), "image/jpeg")})
    assert r.status_code == 202
    body = r.json()
    assert body["status"] in ("queued", "running", "done") and len(body["sha256"]) == 64
    assert r.headers["location"] == body["links"]["self"] == f"/v1/analyses/{body['id']}"
    job = wait_done(client, body["id"])
    assert job["status"] == "done" and job["report"]["media"]["kind"] == "image"
    assert client.get(f"/v1/analyses/{body['id']}/media").content == jpeg(2)


def test_same_file_twice_is_analysed_once(client: TestClient, data_dir: Path) -> None:
    data = jpeg(3)
    first = client.post("/v1/analyses", params={"wait": "true"}, files={"file": ("a.jpg", data)}).json()
    analyses_before = _metric(client, "unmask_analysis_seconds_count")
    second = upload(client, data, "b.jpg")
    assert second["status"] == "done" and second["id"] != first["id"]  # finished from the cache at once
    assert second["verdict"] == first["verdict"]
    full = client.get(f"/v1/analyses/{second['id']}").json()
    assert full["report"]["media"]["path"] == "b.jpg"
    assert full["report"]["evidence"] == [_with_url(e, second["id"], first["id"]) for e in first["report"]["evidence"]]
    assert _metric(client, "unmask_analysis_seconds_count") == analyses_before
    assert _metric(client, 'unmask_jobs_total{status="cached"}') >= 1
    assert len([p for p in (data_dir / "results").iterdir() if first["sha256"] in (p / "report.json").read_text()]) == 1
    for entry in full["report"]["evidence"]:
        if entry["heatmap"]:
            png = client.get(entry["heatmap"]["url"])
            assert png.status_code == 200 and png.headers["content-type"] == "image/png"


def _with_url(entry: dict, new_id: str, old_id: str) -> dict:
    text = json.dumps(entry).replace(old_id, new_id)
    return json.loads(text)


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/v1/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_list_with_cursor_search_and_status(client: TestClient) -> None:
    ids = [upload(client, jpeg(100 + i), f"holiday-{i}.jpg")["id"] for i in range(3)]
    for job_id in ids:
        wait_done(client, job_id)
    page1 = client.get("/v1/analyses", params={"q": "HOLIDAY-", "limit": 2}).json()
    assert [j["id"] for j in page1["items"]] == ids[::-1][:2] and page1["next_cursor"]
    page2 = client.get("/v1/analyses", params={"q": "holiday-", "limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [j["id"] for j in page2["items"]] == [ids[0]] and page2["next_cursor"] is None
    assert all("report" not in j for j in page1["items"])
    sha = page2["items"][0]["sha256"]
    assert [j["id"] for j in client.get("/v1/analyses", params={"q": sha[10:30]}).json()["items"]] == [ids[0]]
    label = page2["items"][0]["verdict"]["label"]
    assert ids[0] in [j["id"] for j in client.get("/v1/analyses", params={"q": label, "limit": 200}).json()["items"]]
    done = client.get("/v1/analyses", params={"status": "done", "limit": 200}).json()["items"]
    assert set(ids) <= {j["id"] for j in done} and all(j["status"] == "done" for j in done)
    assert client.get("/v1/analyses", params={"q": "100%_"}).json()["items"] == []
    assert client.get("/v1/analyses", params={"cursor": "not-a-cursor"}).status_code == 400
    assert client.get("/v1/analyses", params={"status": "nonsense"}).status_code == 422


def test_delete_removes_media_and_artifacts_but_keeps_the_row(client: TestClient, data_dir: Path) -> None:
    data = jpeg(4, side=96)
    job = client.post("/v1/analyses", params={"wait": "true"}, files={"file": ("del.jpg", data)}).json()
    twin = upload(client, data, "twin.jpg")  # same content, another job
    urls = [e["heatmap"]["url"] for e in job["report"]["evidence"] if e["heatmap"]]
    assert urls and all(client.get(u).status_code == 200 for u in urls)
    media = data_dir / "media" / job["sha256"][:2] / job["sha256"]
    assert client.delete(f"/v1/analyses/{job['id']}").status_code == 204
    gone = client.get(f"/v1/analyses/{job['id']}").json()
    assert gone["deleted"] is True and gone["status"] == "done" and gone["report"] is not None
    assert client.get(f"/v1/analyses/{job['id']}/media").status_code == 410
    assert all(client.get(u).status_code == 404 for u in urls)
    assert not (data_dir / "artifacts" / job["id"]).exists()
    assert media.is_file()  # the twin still needs it
    assert client.get(f"/v1/analyses/{twin['id']}/media").content == data
    assert client.delete(f"/v1/analyses/{twin['id']}").status_code == 204
    assert not media.exists()
    assert not any(job["sha256"] in p.read_text() for p in (data_dir / "results").glob("*/report.json"))
    page = client.get(f"/v1/analyses/{job['id']}/report.html")
    assert page.status_code == 200 and "data:image/jpeg" not in page.text
    assert client.delete(f"/v1/analyses/{'0' * 32}").status_code == 404


def test_artifact_names_are_checked_against_the_report(client: TestClient) -> None:
    job = client.post("/v1/analyses", params={"wait": "true"}, files={"file": ("art.jpg", jpeg(5))}).json()
    base = f"/v1/analyses/{job['id']}/artifacts/"
    heat = [e["heatmap"]["url"] for e in job["report"]["evidence"] if e["heatmap"]]
    png = client.get(heat[0])
    assert png.status_code == 200
    with Image.open(io.BytesIO(png.content)) as im:
        assert im.size == (64, 64)
    for bad in ("nope.png", "..%2Fjobs.sqlite3", "..%2F..%2Fjobs.sqlite3", "report.json", "%2Fetc%2Fpasswd"):
        assert client.get(base + bad).status_code == 404, bad


def test_report_html_is_the_project_renderer(client: TestClient) -> None:
    job = client.post("/v1/analyses", params={"wait": "true"}, files={"file": ("page.jpg", jpeg(6))}).json()
    r = client.get(job["links"]["report_html"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "page.jpg" in r.text and "data:image/jpeg;base64," in r.text and "data:image/png;base64," in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def audio_bytes(fmt: str, seconds: float = 3.0) -> bytes:
    """A tone with a pause, encoded by soundfile (fmt: WAV, FLAC, OGG, MP3)."""
    sf = pytest.importorskip("soundfile")
    t = np.arange(round(seconds * 16000)) / 16000
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * (t % 1.0 < 0.7)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, 16000, format=fmt)
    return buf.getvalue()


def test_audio_uploads_are_analysed_and_their_page_shows_the_sound(client: TestClient) -> None:
    jobs = {}
    for fmt in ("FLAC", "WAV", "OGG", "MP3"):
        name = f"voice.{fmt.lower()}"
        r = client.post("/v1/analyses", params={"wait": "true"}, files={"file": (name, audio_bytes(fmt))})
        jobs[fmt] = job = r.json()
        assert r.status_code == 200 and job["status"] == "done" and job["media_type"] == "audio", job
        assert job["report"]["media"]["format"] == fmt.lower() and job["report"]["media"]["duration_s"] > 2.9
    job = jobs["FLAC"]
    assert set(job["links"]) == {"self", "report_html", "media"}
    picture = client.get(f"/v1/analyses/{job['id']}/artifacts/spectrogram.png")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(picture.content)) as im:
        assert im.size == (900, 160) and im.mode == "RGB"
    page = client.get(job["links"]["report_html"]).text
    section = page[page.index("<h3>Speech over time</h3>"):]
    assert '<img class="spectrogram" src="data:image/jpeg;base64,' in section
    assert '<div class="axis"><span>0:00.0</span><span>0:03.0</span></div>' in section
    for entry in job["report"]["evidence"]:  # a shipped speech detector adds its lane under the picture
        if entry["details"].get("window_scores"):
            assert f'aria-label="window scores of {entry["detector"]}"' in section and entry["summary"] in section
    assert client.delete(f"/v1/analyses/{job['id']}").status_code == 204
    assert client.get(f"/v1/analyses/{job['id']}/artifacts/spectrogram.png").status_code == 404
    assert 'class="spectrogram"' not in client.get(job["links"]["report_html"]).text
    image = client.post("/v1/analyses", params={"wait": "true"}, files={"file": ("still.jpg", jpeg(19))}).json()
    assert client.get(f"/v1/analyses/{image['id']}/artifacts/spectrogram.png").status_code == 404


def test_hostile_file_name_and_exif_are_escaped(client: TestClient) -> None:
    name = "<img src=x onerror=alert(1)>.jpg"
    data = jpeg(7, exif={0x0131: HOSTILE, 0x010F: "<b>Evil</b>"})
    job = client.post("/v1/analyses", params={"wait": "true"}, files={"file": (name, data)}).json()
    claims = " ".join(f["claim"] for f in job["report"]["provenance"])
    assert HOSTILE in claims and job["filename"] == name  # the raw strings reached the report
    page = client.get(job["links"]["report_html"]).text
    assert HOSTILE not in page and "<b>Evil</b>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert not re.search(r"<script[^>]*>\s*alert", page)


def test_hostile_file_name_never_becomes_a_path(client: TestClient, data_dir: Path) -> None:
    job = upload(client, jpeg(8), "../../../../tmp/unmask-pwned.jpg")
    wait_done(client, job["id"])
    assert not Path("/tmp/unmask-pwned.jpg").exists()
    stored = data_dir / "media" / job["sha256"][:2] / job["sha256"]
    assert stored.read_bytes() == jpeg(8)
    assert not any("pwned" in p.name for p in data_dir.rglob("*"))


def test_text_upload_and_request_errors(client: TestClient) -> None:
    r = client.post("/v1/analyses", params={"wait": "true"}, json={"text": "The minister said the bridge opens."})
    assert r.status_code == 200 and r.json()["media_type"] == "text" and r.json()["status"] == "done"
    assert client.post("/v1/analyses", json={"image_url": "http://example.com/a.jpg"}).status_code == 403
    assert client.post("/v1/analyses", json={"text": ""}).status_code == 400
    assert client.post("/v1/analyses", json={"other": 1}).status_code == 422
    assert client.post("/v1/analyses", content=b"{nope", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/v1/analyses", content=b"raw", headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/v1/analyses", files={"file": ("empty.jpg", b"")}).status_code == 400
    assert client.post("/v1/analyses", files={"other": ("x.jpg", b"abc")}).status_code == 422
    assert client.post("/v1/analyses", params={"profile": "turbo"}, files={"file": ("x.jpg", b"a")}).status_code == 422


def test_corrupt_upload_is_done_without_a_verdict(client: TestClient) -> None:
    job = client.post("/v1/analyses", params={"wait": "true"},
                      files={"file": ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 40)}).json()
    assert job["status"] == "done" and job["verdict"] is None  # no label outside the report's schema
    assert job["error"] and any(e["fatal"] for e in job["report"]["errors"])
    assert job["words"]["headline"] == "Not analysed"


def test_unknown_ids_are_404(client: TestClient) -> None:
    for path in ("", "/report.html", "/media", "/artifacts/x.png"):
        assert client.get(f"/v1/analyses/{'f' * 32}{path}").status_code == 404
    assert client.get("/v1/analyses/..%2F..%2Fjobs.sqlite3").status_code == 404
    assert client.get("/v1/analyses/not-an-id").status_code == 404


def test_detectors_health_and_metrics(client: TestClient) -> None:
    assert client.get("/v1/detectors").json() == json.loads(json.dumps(Registry.default().describe()))
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["workers"] == 1 and health["queue_depth"] >= 0
    text = client.get("/v1/metrics")
    assert text.headers["content-type"].startswith("text/plain")
    lines = [ln for ln in text.text.splitlines() if ln and not ln.startswith("#")]
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?[0-9.e+]+$')
    assert all(sample.match(ln) for ln in lines), lines
    names = {ln.split("{")[0].split(" ")[0] for ln in lines}
    assert {"unmask_queue_depth", "unmask_jobs_total", "unmask_analysis_seconds_bucket",
            "unmask_analysis_seconds_sum", "unmask_analysis_seconds_count", "unmask_http_requests_total"} <= names
    buckets = [float(ln.split()[-1]) for ln in lines if ln.startswith("unmask_analysis_seconds_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == _metric(client, "unmask_analysis_seconds_count") > 0
    assert _metric(client, 'unmask_http_requests_total{code="200"}') > 0
    assert _metric(client, 'unmask_http_requests_total{code="404"}') > 0
    assert client.get("/openapi.json").json()["paths"]["/v1/analyses"]["post"]["requestBody"]["content"]


def test_web_page_is_served(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


# ------------------------------------------------------------------------------------ limits and auth


def test_upload_over_the_limit_is_413_and_leaves_nothing(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, max_upload_bytes=20_000))) as c:
        big = jpeg(9, side=400)
        assert len(big) > 20_000
        assert c.post("/v1/analyses", files={"file": ("big.jpg", big)}).status_code == 413
        assert c.post("/v1/analyses", json={"text": "x" * 30_000}).status_code == 413
        assert c.post("/v1/analyses", files={"file": ("ok.jpg", jpeg(9))}).status_code == 202
        own = c.app.state.service.data.own_tmp  # this server's uploads in progress
        assert own.parent == tmp_path / "tmp" and list(own.iterdir()) == []
        assert len(list((tmp_path / "media").rglob("*/*"))) == 1


def test_api_keys(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, api_keys=("s3cret", "other")))) as c:
        assert c.get("/v1/analyses").status_code == 401
        assert c.get("/v1/analyses", headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.post("/v1/analyses", files={"file": ("a.jpg", jpeg(10))}).status_code == 401
        assert c.get("/v1/metrics").status_code == 401
        assert c.get("/v1/health").status_code == 200
        ok = c.post("/v1/analyses", files={"file": ("a.jpg", jpeg(10))}, headers={"X-API-Key": "other"})
        assert ok.status_code == 202
        assert c.get(ok.json()["links"]["self"], headers={"X-API-Key": "s3cret"}).status_code == 200
        assert list((tmp_path / "media").rglob("*/*")) != []


def test_rate_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, rate_limit=2, api_keys=("k1", "k2")))) as c:
        codes = [c.post("/v1/analyses", json={"text": f"t{i}"}, headers={"X-API-Key": "k1"}) for i in range(3)]
        assert [r.status_code for r in codes] == [202, 202, 429]
        assert int(codes[2].headers["retry-after"]) >= 1
        assert c.post("/v1/analyses", json={"text": "t"}, headers={"X-API-Key": "k2"}).status_code == 202


def test_full_queue_is_429_and_queued_jobs_can_be_deleted(tmp_path: Path) -> None:
    """One worker on slow inputs, a queue of one: further uploads are refused; a queued upload that is
    deleted ends failed; a report of a job that is not done is 409."""
    with TestClient(create_app(settings(tmp_path, queue_size=1))) as c:
        slow = [jpeg(20 + i, side=1500) for i in range(4)]
        answers = [c.post("/v1/analyses", files={"file": (f"s{i}.jpg", d)}) for i, d in enumerate(slow)]
        codes = [r.status_code for r in answers]
        refused = [r for r in answers if r.status_code == 429]
        assert refused and set(codes) <= {202, 429}, codes
        assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
        accepted = [r.json()["id"] for r in answers if r.status_code == 202]
        assert len(list((tmp_path / "media").rglob("*/*"))) == len(accepted)  # refused uploads are not kept
        queued = [j for j in accepted if c.get(f"/v1/analyses/{j}").json()["status"] == "queued"]
        if queued:
            page = c.get(f"/v1/analyses/{queued[0]}/report.html")
            if c.get(f"/v1/analyses/{queued[0]}").json()["status"] != "done":
                assert page.status_code == 409
            assert c.delete(f"/v1/analyses/{queued[0]}").status_code == 204
            job = wait_done(c, queued[0])
            assert job["deleted"] and (job["status"] == "failed" or job["verdict"] is not None)
        for job_id in accepted:
            assert wait_done(c, job_id)["status"] in ("done", "failed")


# ----------------------------------------------------------------------------- crash safety in-process


def test_running_jobs_left_by_a_killed_server_are_finished(tmp_path: Path) -> None:
    data = jpeg(30)
    with TestClient(create_app(settings(tmp_path))) as c:
        job = c.post("/v1/analyses", params={"wait": "true"}, files={"file": ("r.jpg", data)}).json()
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    with store.engine.begin() as conn:  # what a kill -9 mid-analysis leaves behind
        from unmask.serve.store import JOBS, RESULTS

        conn.execute(JOBS.update().values(status="running", report_path=None, verdict_label=None))
        conn.execute(RESULTS.delete())
    store.close()
    (tmp_path / "reports" / f"{job['id']}.json").unlink()
    (tmp_path / "tmp" / "upload-half").write_bytes(b"partial")
    with TestClient(create_app(settings(tmp_path))) as c:
        again = wait_done(c, job["id"])
        assert again["status"] == "done" and again["report"]["media"]["sha256"] == job["sha256"]
        assert again["verdict"] == job["verdict"]
        assert not (tmp_path / "tmp" / "upload-half").exists()


def test_a_killed_worker_is_retried_then_given_up(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, max_attempts=2))) as c:
        service = c.app.state.service
        killed: list[int] = []
        job = upload(c, jpeg(40, side=1600), "crash.jpg")
        _kill_worker_during(service, job["id"], 1, killed)
        done = wait_done(c, job["id"])
        assert done["status"] == "done" and done["verdict"] is not None  # the retry in a fresh worker worked
        assert service.store.get(job["id"])["attempts"] == 2
        other = upload(c, jpeg(41, side=1600), "crash2.jpg")
        _kill_worker_during(service, other["id"], 1, killed)
        _kill_worker_during(service, other["id"], 2, killed)
        failed = wait_done(c, other["id"])
        assert failed["status"] == "failed" and "worker process died" in failed["error"]
        assert "2 attempts" in failed["error"]
        assert c.get("/v1/health").json()["status"] == "ok"
        assert wait_done(c, upload(c, jpeg(42), "after.jpg")["id"])["status"] == "done"


def _kill_worker_during(service, job_id: str, attempt: int, killed: list[int]) -> None:
    """SIGKILL the worker process while it holds this attempt of the job (a crash in a decoder)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = service.store.get(job_id)
        pid = service.pool.workers[0].pid
        if job["status"] == "running" and job["attempts"] == attempt and pid is not None and pid not in killed:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.002)
    raise AssertionError(f"attempt {attempt} of job {job_id} never ran")
