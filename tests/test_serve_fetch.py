"""URL fetching for the service: only public http(s) addresses, pinned to the checked IP, redirects
re-checked, size capped; and through the API only when the server allows it."""

from __future__ import annotations

import functools
import http.server
import io
import ipaddress
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from unmask.serve.app import create_app
from unmask.serve.fetch import FetchRefused, FetchTooLarge, check_url, fetch, public_address
from unmask.serve.settings import ServeSettings


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hosts.append(self.headers["Host"])  # type: ignore[attr-defined]
        if self.path == "/img.png":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.split("to=", 1)[1])
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[http.server.HTTPServer]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.hosts = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1",
                                     "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1", "::"])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.jpg", "gopher://x", "http://",
                                 "http://user:pw@example.com/a.jpg", "http://127.0.0.1/a.jpg",
                                 "http://[::1]/a.jpg", "http://169.254.169.254/latest/meta-data/",
                                 "http://localhost/a.jpg", "http://0x7f000001/a.jpg", "http://[::ffff:7f00:1]/",
                                 "http://example.com:99999/"])
def test_urls_that_are_never_fetched(url: str) -> None:
    with pytest.raises(FetchRefused):
        check_url(url)


def test_every_resolved_address_must_be_public() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # one public answer does not excuse a private one

    with pytest.raises(FetchRefused, match=r"10\.0\.0\.7"):
        check_url("http://mixed.example/a.png", resolve)


def test_fetch_connects_to_the_checked_address_and_rechecks_redirects(server) -> None:
    port = server.server_address[1]
    names = {"good.test": ["127.0.0.1"], "evil.test": ["10.9.9.9"]}
    allowed = {ipaddress.ip_address("127.0.0.1")}  # stands in for "public" so the local server is reachable

    def resolve(host: str, _port: int) -> list[str]:
        return names[host]

    got = bytearray()
    final = fetch(f"http://good.test:{port}/img.png", 1 << 20, got.extend, resolve=resolve,
                  allowed=allowed.__contains__)
    assert bytes(got) == PNG and final.endswith("/img.png")
    assert server.hosts[-1] == f"good.test:{port}"  # the name is kept in the Host header
    got.clear()
    fetch(f"http://good.test:{port}/redirect?to=/img.png", 1 << 20, got.extend, resolve=resolve,
          allowed=allowed.__contains__)
    assert bytes(got) == PNG
    with pytest.raises(FetchRefused, match=r"10\.9\.9\.9"):
        fetch(f"http://good.test:{port}/redirect?to=http://evil.test:{port}/img.png", 1 << 20, got.extend,
              resolve=resolve, allowed=allowed.__contains__)
    with pytest.raises(FetchTooLarge):
        fetch(f"http://good.test:{port}/img.png", 100, got.extend, resolve=resolve, allowed=allowed.__contains__)
    with pytest.raises(FetchRefused, match="404"):
        fetch(f"http://good.test:{port}/missing", 100, got.extend, resolve=resolve, allowed=allowed.__contains__)


def test_api_refuses_private_urls_even_when_fetching_is_on(tmp_path: Path, server) -> None:
    port = server.server_address[1]
    settings = ServeSettings(data_dir=tmp_path, profile="fast", rate_limit=0, allow_url_fetch=True)
    with TestClient(create_app(settings)) as c:
        for url in (f"http://127.0.0.1:{port}/img.png", f"http://localhost:{port}/img.png", "file:///etc/passwd",
                    "http://169.254.169.254/latest/meta-data/"):
            r = c.post("/v1/analyses", json={"image_url": url})
            assert r.status_code == 400, (url, r.text)
            r = c.post("/v1/analyses", json={"text": "a post", "image_url": url})
            assert r.status_code == 400
        own = c.app.state.service.data.own_tmp  # this server's uploads in progress (tmp/<server id>/)
        assert not list((tmp_path / "media").rglob("*/*")) and not list(own.iterdir())
    assert all(not h.startswith(("127.0.0.1", "localhost")) for h in server.hosts)


def test_api_fetches_an_image_and_a_post_with_an_image(tmp_path: Path, server,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole path with a resolver that maps a name to the local test server (standing in for a
    public host): the image is stored by content and analysed; text + image becomes a post."""
    from unmask.serve import api

    port = server.server_address[1]
    local = functools.partial(fetch, resolve=lambda host, _p: ["127.0.0.1"],
                              allowed=lambda ip: str(ip) == "127.0.0.1")
    monkeypatch.setattr(api, "fetch", local)
    settings = ServeSettings(data_dir=tmp_path, profile="fast", rate_limit=0, allow_url_fetch=True)
    with TestClient(create_app(settings)) as c:
        url = f"http://pics.test:{port}/img.png"
        image = c.post("/v1/analyses", params={"wait": "true"}, json={"image_url": url}).json()
        assert image["status"] == "done" and image["media_type"] == "image" and image["filename"] == "img.png"
        assert c.get(image["links"]["media"]).content == PNG
        post = c.post("/v1/analyses", params={"wait": "true"}, json={"text": "Look at this!", "image_url": url})
        job = post.json()
        assert post.status_code == 200 and job["media_type"] == "post"
        assert any(e["part"] == "images[0]" for e in job["report"]["evidence"])
        page = c.get(job["links"]["report_html"]).text
        assert "data:image/jpeg;base64," in page
        assert c.delete(f"/v1/analyses/{image['id']}").status_code == 204
        assert c.get(f"/v1/analyses/{job['id']}/report.html").status_code == 200
        assert (tmp_path / "media" / image["sha256"][:2] / image["sha256"]).is_file()  # the post still uses it
