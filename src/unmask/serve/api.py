"""The /v1 routes. Handlers only move bytes and rows; analysis happens in the worker pool."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..detectors import PROFILES
from . import htmlreport, view
from .fetch import FetchRefused, FetchTooLarge, fetch
from .files import UploadSink, UploadTooLarge
from .schemas import UPLOAD_BODY, Health, JobDetail, JobList, JobSummary, Problem
from .security import retry_after
from .service import Service, report_artifacts
from .store import STATUSES
from .upload import BadUpload, display_name, receive_file, receive_json

router = APIRouter(prefix="/v1")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
                "bmp": "image/bmp", "tiff": "image/tiff", "avif": "image/avif", "heic": "image/heic"}
_MULTIPART_OVERHEAD = 1 << 20
Profile = Literal[PROFILES]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem}}


def service(request: Request) -> Service:
    return request.app.state.service


def client_id(request: Request,
              key: Annotated[str | None, Security(APIKeyHeader(name="X-API-Key", auto_error=False))] = None) -> str:
    """Who is calling: the API key's fingerprint when keys are configured (401 without a valid one), else
    the client's address."""
    keys = request.app.state.keys
    if keys.enabled:
        who = keys.identify(key)
        if who is None:
            raise HTTPException(401, "a valid X-API-Key header is required", headers={"WWW-Authenticate": "X-API-Key"})
        return who
    return f"ip:{request.client.host if request.client else 'unknown'}"


Svc = Annotated[Service, Depends(service)]
Client = Annotated[str, Depends(client_id)]


def _too_many(seconds: float, why: str) -> HTTPException:
    return HTTPException(429, why, headers={"Retry-After": retry_after(seconds)})


def _job(svc: Service, job_id: str) -> dict[str, Any]:
    job = svc.store.get(job_id) if _JOB_ID.match(job_id) else None
    if job is None:
        raise HTTPException(404, f"no analysis with id {job_id!r}")
    return job


def _queue_wait(svc: Service, depth: int) -> float:
    """Rough seconds until a queue slot frees up: the queue's share of work per worker."""
    per_job = svc.metrics.mean_analysis_s()
    return min(60.0, max(1.0, per_job * max(1, depth - svc.settings.queue_size + 1) / svc.settings.workers))


# ------------------------------------------------------------------------------------------ submitting


@router.post("/analyses", status_code=202, response_model=JobSummary, openapi_extra={"requestBody": UPLOAD_BODY},
             responses={200: {"model": JobDetail, "description": "Finished within `wait`."},
                        401: {"model": Problem}, 403: {"model": Problem}, 413: {"model": Problem},
                        415: {"model": Problem}, 422: {"model": Problem}, 429: {"model": Problem}},
             summary="Submit a file (multipart field `file`) or a text (JSON) for analysis")
async def create_analysis(request: Request, svc: Svc, client: Client,
                          profile: Annotated[Profile | None, Query(description="Detector profile.")] = None,
                          wait: Annotated[bool, Query(description="Wait up to ~30 s for the result.")] = False,
                          ) -> Response:
    wait_s = request.app.state.buckets.take(client)
    if wait_s:
        raise _too_many(wait_s, "rate limit reached; retry later")
    depth = await run_in_threadpool(svc.store.queue_depth)
    if depth >= svc.settings.queue_size:
        raise _too_many(_queue_wait(svc, depth), "the analysis queue is full; retry later")
    limit = svc.settings.upload_limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise HTTPException(413, f"the upload is larger than the {limit:,}-byte limit")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    chosen = profile or svc.settings.profile
    try:
        if ctype == "multipart/form-data":
            job = await _accept_file(request, svc, chosen)
        elif ctype == "application/json":
            job = await run_in_threadpool(_accept_json, svc, await receive_json(request, limit), chosen)
        else:
            raise HTTPException(415, "send multipart/form-data with a 'file' field, or application/json")
    except UploadTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except BadUpload as exc:
        raise HTTPException(exc.status, str(exc)) from None
    if job is None:
        raise _too_many(_queue_wait(svc, svc.settings.queue_size), "the analysis queue is full; retry later")
    if wait:
        job = await _wait_for(svc, job)
        if job["status"] in ("done", "failed"):
            report = await run_in_threadpool(svc.report_of, job)
            return JSONResponse(view.detail(job, report), status_code=200)
    return JSONResponse(view.summary(job), status_code=202, headers={"Location": view.links(job["id"])["self"]})


async def _accept_file(request: Request, svc: Service, profile: str) -> dict[str, Any] | None:
    sink = await run_in_threadpool(svc.data.upload, svc.settings.upload_limit)
    try:
        filename = await receive_file(request, sink)
    except BaseException:
        sink.abort()
        raise
    return await run_in_threadpool(svc.accept, sink, filename, profile)


def _accept_json(svc: Service, body: dict[str, Any], profile: str) -> dict[str, Any] | None:
    limit = svc.settings.upload_limit
    if "image_url" not in body:
        sink = svc.data.upload(limit)
        sink.write(body["text"].encode("utf-8"))
        return svc.accept(sink, None, profile)
    if not svc.settings.allow_url_fetch:
        raise BadUpload(403, "URL fetching is off on this server (start it with --allow-url-fetch)")
    image = _fetch_into(svc, body["image_url"])
    if "text" not in body:
        name = PurePosixPath(unquote(urlsplit(body["image_url"]).path)).name
        return svc.accept(image, display_name(name), profile)
    post = svc.data.upload(limit)
    post.write(json.dumps({"text": body["text"], "images": [image.sha256],
                           "source_url": body["image_url"]}).encode("utf-8"))
    return svc.accept(post, None, profile, attachments=(image,))


def _fetch_into(svc: Service, url: str) -> UploadSink:
    sink = svc.data.upload(svc.settings.upload_limit)
    try:
        fetch(url, svc.settings.upload_limit, sink.write)
    except FetchTooLarge as exc:
        sink.abort()
        raise BadUpload(413, str(exc)) from None
    except FetchRefused as exc:
        sink.abort()
        raise BadUpload(400, f"cannot fetch the image: {exc}") from None
    except BaseException:
        sink.abort()
        raise
    if sink.size == 0:
        sink.abort()
        raise BadUpload(400, "the fetched image is empty")
    return sink


async def _wait_for(svc: Service, job: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.settings.wait_timeout_s
    delay = 0.02
    while job["status"] in ("queued", "running") and loop.time() < deadline:
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)
        job = await run_in_threadpool(svc.store.get, job["id"]) or job
    return job


# -------------------------------------------------------------------------------------------- reading


@router.get("/analyses", response_model=JobList, responses={400: {"model": Problem}, 401: {"model": Problem}},
            summary="List analyses, newest first")
def list_analyses(svc: Svc, _: Client, status: Status | None = None,
                  q: Annotated[str | None, Query(max_length=200, description="Substring of file name, "
                                                 "SHA-256 or verdict label.")] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  cursor: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
    before = None
    if cursor:
        before = view.decode_cursor(cursor)
        if before is None:
            raise HTTPException(400, "invalid cursor")
    rows = svc.store.list(status=status, q=q, limit=limit + 1, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [view.summary(r) for r in rows],
            "next_cursor": view.encode_cursor(rows[-1]["seq"]) if more and rows else None}


@router.get("/analyses/{job_id}", response_model=JobDetail, responses=_ERRORS, summary="One analysis")
def get_analysis(job_id: str, svc: Svc, _: Client) -> dict[str, Any]:
    job = _job(svc, job_id)
    return view.detail(job, svc.report_of(job))


@router.get("/analyses/{job_id}/report.html", response_class=HTMLResponse,
            responses={**_ERRORS, 409: {"model": Problem}}, summary="The analysis as an HTML page")
def get_report_html(job_id: str, svc: Svc, _: Client) -> HTMLResponse:
    job = _job(svc, job_id)
    if job["status"] != "done":
        raise HTTPException(409, f"the analysis is {job['status']}" + (f": {job['error']}" if job["error"] else ""))
    return HTMLResponse(htmlreport.cached_page(svc, job), headers={"Content-Security-Policy": htmlreport.CSP})


@router.get("/analyses/{job_id}/artifacts/{name}", response_class=FileResponse,
            responses={**_ERRORS, 200: {"content": {"image/png": {}}}}, summary="A heatmap or mask PNG")
def get_artifact(job_id: str, name: str, svc: Svc, _: Client) -> FileResponse:
    job = _job(svc, job_id)
    report = svc.report_of(job)
    if report is None or job["deleted"] or name not in report_artifacts(report):
        raise HTTPException(404, f"analysis {job_id} has no artifact {name!r}")
    path = svc.data.job_artifacts(job["id"]) / name  # `name` is one of the report's own names
    if not path.is_file():
        raise HTTPException(404, f"analysis {job_id} has no artifact {name!r}")
    return FileResponse(path, media_type="image/png")


@router.get("/analyses/{job_id}/media", response_class=FileResponse,
            responses={**_ERRORS, 410: {"model": Problem}}, summary="The uploaded file")
def get_media(job_id: str, svc: Svc, _: Client) -> FileResponse:
    job = _job(svc, job_id)
    path = svc.media_file(job)
    if path is None:
        raise HTTPException(410, "the upload was deleted")
    report = svc.report_of(job) or {}
    media = report.get("media") or {}
    mime = _IMAGE_TYPES.get(media.get("format") or "") if media.get("kind") == "image" else None
    headers = {"Content-Security-Policy": "default-src 'none'; sandbox"}
    if mime is None:
        headers["Content-Disposition"] = "attachment"
    return FileResponse(path, media_type=mime or "application/octet-stream", headers=headers)


@router.delete("/analyses/{job_id}", status_code=204, responses=_ERRORS,
               summary="Delete the upload and its artifacts (the record stays, marked deleted)")
def delete_analysis(job_id: str, svc: Svc, _: Client) -> Response:
    _job(svc, job_id)
    svc.delete(job_id)
    return Response(status_code=204)


@router.get("/detectors", summary="Registered detectors (as `unmask detectors --json`)")
def detectors(request: Request, _: Client) -> list[dict[str, Any]]:
    return request.app.state.detectors


@router.get("/health", response_model=Health, summary="Liveness, queue depth and workers (no key needed)")
def health(svc: Svc) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "queue_depth": svc.store.queue_depth(),
            "workers": svc.settings.workers, "server": svc.server_id}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(svc: Svc, _: Client) -> PlainTextResponse:
    text = svc.metrics.render(svc.store.queue_depth(), svc.store.counts(), svc.settings.workers)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
