"""The web page in a real headless Chromium against a real `unmask serve`: upload, verdict, overlay, report
link, history search, text analysis, API key prompt, and the timeline/text-span views.

Needs Debian's chromium and the playwright Python package (no `playwright install`); skipped with the install
command when either is missing.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unmask.report.model import (
    EvidenceEntry,
    MediaInfo,
    Report,
    SegmentModel,
    TokenModel,
    TrackModel,
    Verdict,
)
from unmask.report.words import describe

pytest.importorskip("fastapi", reason='the service needs its extra: pip install -e ".[serve]"')

_TOOL = Path(__file__).resolve().parents[1] / "tools" / "screenshot_page.py"
_spec = importlib.util.spec_from_file_location("screenshot_page", _TOOL)
shot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shot)

if importlib.util.find_spec("playwright") is None or shot.find_chromium() is None:
    pytest.skip(f"browser tests need Chromium and Playwright: {shot.INSTALL_HINT}", allow_module_level=True)

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402  (after the skip above)

HOSTILE = "<img src=x onerror=window.pwned=1>.png"  # no quotes: browsers send " as %22 in file names
HEADLINES = ("Looks authentic", "Inconclusive", "Likely manipulated", "Likely AI-generated", "No opinion")
TEXT_HEADLINES = ("No sign of a false claim", "Likely false or misleading")
KEY = "browser-test-key"


def jpeg_bytes(seed: int, size: tuple[int, int] = (160, 120)) -> bytes:
    """A small textured photo-like JPEG with a pasted, differently compressed patch."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 1.2, yy * 1.5, (xx + yy) * 0.6], axis=-1) + rng.normal(0, 6, (h, w, 3))
    base[30:70, 50:110] = rng.normal(128, 30, (40, 60, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def png_bytes(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg_bytes(seed))).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with shot.running_server(tmp_path_factory.mktemp("serve-data"), "--profile", "fast") as url:
        yield url


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    with shot.browser_context(tmp_path_factory.mktemp("chromium"), viewport={"width": 1280, "height": 900}) as ctx:
        yield ctx


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def uploaded(server, context):
    """Two files picked at once in the file input, both analysed; the page stays open for the checks."""
    page = context.new_page()
    page.goto(server + "/")
    files = [{"name": "street-photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(1)},
             {"name": HOSTILE, "mimeType": "image/png", "buffer": png_bytes(2)}]
    shot.upload_and_wait(page, files)
    yield page
    page.close()


def test_upload_shows_progress_verdict_and_detectors(uploaded):
    page = uploaded
    rows = page.locator("#jobs li")
    assert rows.count() == 2
    assert [rows.nth(i).get_attribute("data-status") for i in range(2)] == ["done", "done"]
    result = page.locator("#result-body")
    result.locator("[data-testid=verdict]").wait_for()
    assert result.locator("[data-testid=verdict]").inner_text() in HEADLINES
    label = result.locator(".verdict").first.get_attribute("class").split()[-1]
    assert result.locator("[data-testid=verdict]").inner_text() == describe(label)[0]  # the same words as Python
    assert re.fullmatch(r"\d{1,3}%", result.locator("[data-testid=probability]").inner_text())
    assert result.locator("[data-testid=operating-point]").inner_text().startswith("Called manipulated at ")
    assert result.locator("ol.reasons li").count() >= 1
    detectors = result.locator("table.detectors tbody tr")
    assert detectors.count() >= 3
    names = {detectors.nth(i).locator("td").first.inner_text().strip() for i in range(detectors.count())}
    assert {"ela", "jpeg_grid_alignment"} <= names
    assert re.search(r"\d+\.\d+ s", detectors.first.locator("td").nth(3).inner_text())


def test_overlay_is_drawn_and_slider_sets_its_opacity(uploaded):
    page = uploaded
    page.locator("#jobs li[data-name='street-photo.jpg'] button").click()
    result = page.locator("#result-body")
    result.locator("h2", has_text="street-photo.jpg").wait_for()
    canvas = result.locator("canvas.overlay")
    page.wait_for_function("() => document.querySelector('#result-body canvas.overlay')?.dataset.map")
    assert canvas.is_visible()
    assert canvas.evaluate("c => [c.width, c.height]") == [160, 120]
    # the coloured map is not empty: some pixel has alpha (the ramp is transparent only at exactly 0)
    assert canvas.evaluate("c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
                           ".some((v, i) => i % 4 === 3 && v > 0)")
    assert result.locator("img.base").evaluate("img => img.complete && img.naturalWidth") == 160
    slider = result.locator("input.opacity")
    slider.fill("20")
    assert canvas.evaluate("c => c.style.opacity") == "0.2"
    slider.fill("90")
    assert canvas.evaluate("c => getComputedStyle(c).opacity") == "0.9"
    first = canvas.get_attribute("data-map")
    select = result.locator("select[id$='-map']")
    assert select.locator("option").count() >= 2
    select.select_option(index=1)
    page.wait_for_function("first => document.querySelector('#result-body canvas.overlay').dataset.map !== first",
                           arg=first)
    assert canvas.get_attribute("data-map").startswith("/v1/analyses/")


def test_report_link_opens_the_html_report(uploaded, context):
    link = uploaded.locator("#result-body a", has_text="Full report (HTML)")
    with context.expect_page() as opened:
        link.click()
    report = opened.value
    report.wait_for_load_state()
    assert report.url.endswith("/report.html")
    assert report.locator("header.top strong").inner_text() == "unmask"
    assert report.locator(".verdict .headline").first.inner_text() in HEADLINES
    report.close()


def test_report_text_is_escaped(uploaded):
    page = uploaded
    page.locator("#jobs li").filter(has_text="onerror").locator("button").click()
    title = page.locator("#result-body h2.filename")
    title.filter(has_text="onerror").wait_for()
    assert title.inner_text() == HOSTILE
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("img[src='x']").count() == 0


def test_history_search_finds_the_upload(uploaded):
    page = uploaded
    box = page.locator("#history-q")
    box.fill("street-photo")
    page.locator("#history-form button").click()
    page.wait_for_function("() => [...document.querySelectorAll('#history-rows tr')].length === 1")
    row = page.locator("#history-rows tr")
    assert "street-photo.jpg" in row.inner_text()
    assert "done" in row.inner_text()
    box.fill("no-such-file-anywhere")
    page.locator("#history-form button").click()
    page.locator("#history-empty").wait_for(state="visible")
    assert page.locator("#history-rows tr").count() == 0
    box.fill("")
    page.locator("#history-form button").click()
    page.wait_for_function("() => document.querySelectorAll('#history-rows tr').length === 2")
    page.locator("#history-rows tr", has_text="street-photo.jpg").locator("button").click()
    page.locator("#result-body h2", has_text="street-photo.jpg").wait_for()


def test_text_box_analyses_a_text(server, page):
    text = "The minister said on Tuesday that the new bridge will open next spring."
    page.goto(server + "/")
    page.fill("#text-input", text)
    page.click("#text-submit")
    page.wait_for_function("() => document.querySelector('#jobs li')?.dataset.status === 'done'", timeout=30_000)
    assert page.locator("#result-body [data-testid=verdict]").inner_text() in HEADLINES + TEXT_HEADLINES
    # tfidf_lr (every profile) marks the words that weigh most, over the text itself
    page.locator("#result-body .text-view mark").first.wait_for()
    marks = page.evaluate("() => [...document.querySelectorAll('#result-body .text-view mark')]"
                          ".map((m) => m.firstChild.textContent)")
    assert marks and all(m in text.split(" ") or m.strip(".") in text for m in marks)


def test_controls_are_labelled_and_file_picker_is_keyboard_reachable(server, page):
    page.goto(server + "/")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim()))
        .map((e) => e.outerHTML)""")
    assert unlabelled == []
    # Keyboard only: Tab to the picker, Enter opens the chooser. Headless Chromium on a busy machine now and
    # then drops the first Enter (no chooser event), so a few tries are allowed, each from a fresh Tab.
    for _ in range(3):
        if not _tab_to(page, "file-input"):
            pytest.fail("Tab never reached the file picker")
        try:
            with page.expect_file_chooser(timeout=5_000) as chooser:
                page.keyboard.press("Enter")
        except PlaywrightTimeout:
            continue
        assert chooser.value.is_multiple()
        return
    pytest.fail("Enter on the focused file picker never opened a file chooser")


def _tab_to(page, element_id: str, presses: int = 15) -> bool:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == element_id:
            return True
    return False


def test_dropping_a_file_analyses_it(server, page):
    page.goto(server + "/")
    page.evaluate("""async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'dropped.jpg', { type: 'image/jpeg' }));
        const zone = document.getElementById('dropzone');
        zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""", base64.b64encode(jpeg_bytes(4)).decode())
    page.wait_for_function("() => document.querySelector('#jobs li')?.dataset.status === 'done'", timeout=30_000)
    assert page.locator("#jobs li").get_attribute("data-name") == "dropped.jpg"
    page.locator("#result-body h2", has_text="dropped.jpg").wait_for()


def test_api_key_prompt(tmp_path, page):
    with shot.running_server(tmp_path / "data", "--profile", "fast", "--api-key", KEY) as url:
        page.goto(url + "/")
        page.locator("#auth").wait_for(state="visible")
        assert page.locator("#api-key").evaluate("e => e === document.activeElement")
        page.fill("#api-key", "wrong-key")
        page.click("#auth-form button")
        page.locator("#auth-message", has_text="did not accept").wait_for()
        page.fill("#api-key", KEY)
        page.click("#auth-form button")
        page.locator("#history-empty").wait_for(state="visible")
        assert page.evaluate("() => sessionStorage.getItem('unmask.apiKey')") == KEY
        shot.upload_and_wait(page, [{"name": "keyed.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(3)}])
        assert page.locator("#jobs li").get_attribute("data-status") == "done"
        # maps and the image come through object URLs fetched with the key (elements cannot send headers)
        page.wait_for_function("() => document.querySelector('#result-body canvas.overlay')?.dataset.map")
        assert page.locator("#result-body img.base").get_attribute("src").startswith("blob:")
        with page.context.expect_page() as opened:
            page.locator("#result-body a", has_text="Full report (HTML)").click()
        report = opened.value
        report.wait_for_url(re.compile(r"^blob:"))
        report.locator(".verdict .headline").first.wait_for()
        assert "keyed.jpg" in report.content()
        report.close()


def _segment_report() -> dict:
    """A report as the model writes it, with time segments and text spans (offsets in code points)."""
    segs = [SegmentModel(start_s=0.5, end_s=1.5, score=0.9, label="voice clone"),
            SegmentModel(start_s=3.0, end_s=4.0, score=0.2)]
    text = "😀 Breaking: the moon is made of cheese."
    at = text.index("made of cheese")
    tokens = [TokenModel(start=2, end=10, text=text[2:10], score=0.8),
              TokenModel(start=at, end=at + 14, text=text[at:at + 14], score=0.4)]
    report = Report(media=MediaInfo(kind="audio", duration_s=5.0), verdict=Verdict(label="manipulated",
                    probability=0.8, calibrated=False),
                    evidence=[EvidenceEntry(detector="voice", score=0.9, segments=segs),
                              EvidenceEntry(detector="claims", score=0.8, tokens=tokens)])
    return {"report": report.to_dict(), "text": text, "tokens": [t.text for t in tokens]}


def test_timeline_and_text_spans_render(server, page):
    page.goto(server + "/")
    data = _segment_report()
    found = page.evaluate("""async ({report, text}) => {
        const { timelineSection } = await import('/static/timeline.js');
        const { spansSection } = await import('/static/spans.js');
        const host = document.createElement('div');
        host.id = 'probe';
        document.body.append(host);
        host.append(timelineSection(report, null), spansSection(report, async () => text));
        await new Promise((r) => setTimeout(r, 50));
        const segs = [...host.querySelectorAll('.timeline .seg')];
        return { widths: segs.map((s) => s.style.width), lefts: segs.map((s) => s.style.left),
                 words: [...host.querySelectorAll('ul.segments li')].map((li) => li.textContent),
                 marks: [...host.querySelectorAll('.text-view mark')].map((m) => m.firstChild.textContent),
                 text: host.querySelector('.text-view').textContent };
    }""", {"report": data["report"], "text": data["text"]})
    assert found["lefts"] == ["10%", "60%"] and found["widths"] == ["20%", "20%"]
    assert found["words"][0] == "0.50 s to 1.50 s: score 90% (voice clone)"
    assert found["marks"] == data["tokens"]
    assert found["text"].replace("[80%]", "").replace("[40%]", "") == data["text"]


def _track_report() -> dict:
    """A video report with one face_xray track: 8 frames 0.5 s apart, frames 3 and 4 above 0.5 (one segment)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 150, 120)).save(buf, "JPEG")
    thumb = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    times = [0.5 * i for i in range(8)]
    scores = [0.1, 0.2, 0.1, 0.8, 0.9, 0.2, 0.1, 0.1]
    seg = SegmentModel(start_s=1.25, end_s=2.25, score=0.85, label="face")
    track = TrackModel(id=0, score=sum(scores) / 8, times=times, frame_scores=scores,
                       boxes=[(10.0, 10.0, 50.0, 50.0)] * 8, segments=[seg], thumbnail=thumb)
    report = Report(media=MediaInfo(kind="video", duration_s=4.0),
                    verdict=Verdict(label="manipulated", probability=0.85, calibrated=False),
                    evidence=[EvidenceEntry(detector="face_xray", score=track.score, segments=[seg],
                                            tracks=[track])])
    return report.to_dict()


def test_face_tracks_render(server, page):
    page.goto(server + "/")
    report = _track_report()
    found = page.evaluate("""async (report) => {
        const { tracksSection } = await import('/static/timeline.js');
        const render = (r) => {
            const host = document.createElement('div');
            document.body.append(host);
            host.append(tracksSection(r));
            return host;
        };
        const host = render(report);
        const cells = [...host.querySelectorAll('.track .timeline.frames .cell')];
        const hostile = structuredClone(report);
        hostile.evidence[0].tracks[0].thumbnail = 'javascript:alert(1)';
        const bad = render(hostile);
        return { heading: host.querySelector('h3').textContent, rows: host.querySelectorAll('.track').length,
                 lefts: cells.map((c) => parseFloat(c.style.left)),
                 labels: cells.map((c) => c.getAttribute('aria-label')),
                 titles: cells.map((c) => c.title), colours: cells.map((c) => c.style.background),
                 line: host.querySelector('.track-line').textContent,
                 marks: [...host.querySelectorAll('.track-marks span')].map((m) => [m.style.left, m.style.width]),
                 img: host.querySelector('.track img.thumb')?.getAttribute('src'),
                 imgLoaded: await new Promise((r) => { const i = host.querySelector('img.thumb');
                     if (i.complete) r(i.naturalWidth); else i.onload = () => r(i.naturalWidth); }),
                 badRows: bad.querySelectorAll('.track').length, badImgs: bad.querySelectorAll('img').length,
                 badSrc: [...bad.querySelectorAll('[src]')].map((e) => e.getAttribute('src')),
                 none: tracksSection({ evidence: [{ detector: 'x', tracks: [] }] }) };
    }""", report)
    assert found["heading"] == "Faces over time"
    assert found["rows"] == 1
    assert found["lefts"] == [12.5 * i for i in range(8)]  # t / 4.0 s duration, in time order
    assert found["labels"][3] == "1.50 s: 80%" and found["titles"] == found["labels"]
    assert len(set(found["colours"])) == 4  # one colour per distinct score, not colour alone: labels above
    line = found["line"]
    assert line.startswith("track 0 · score 31% · ") and "suspicious: 1.25–2.25 s (85%)" in line
    assert found["marks"] == [["31.25%", "25%"]]
    assert found["img"] == report["evidence"][0]["tracks"][0]["thumbnail"] and found["imgLoaded"] == 8
    assert found["badRows"] == 1 and found["badImgs"] == 0 and found["badSrc"] == []
    assert found["none"] is None


def _speech_report() -> dict:
    """An audio report with one speech detector: 17 windows of 2 s every 0.5 s, windows 5 and 6 too quiet to
    judge, windows 7-9 above 0.5 (one flagged stretch, 4.25-6.25 s)."""
    scores = [0.1] * 5 + [None, None] + [0.8, 0.9, 0.85] + [0.2] * 7
    seg = SegmentModel(start_s=4.25, end_s=6.25, score=0.85, label="synthetic speech")
    entry = EvidenceEntry(detector="lfcc_gmm", score=0.85, summary="The voice shows signs (probability 0.85).",
                          segments=[seg], details={"window_s": 2.0, "hop_s": 0.5, "window_scores": scores,
                                                   "window_starts": [0.5 * i for i in range(17)]})
    return Report(media=MediaInfo(kind="audio", duration_s=10.0), evidence=[entry],
                  verdict=Verdict(label="ai-generated", probability=0.85, calibrated=False)).to_dict()


def test_speech_section_renders(server, page):
    page.goto(server + "/")
    found = page.evaluate("""async (report) => {
        const { speechSection } = await import('/static/timeline.js');
        const host = document.createElement('div');
        document.body.append(host);
        host.append(speechSection(report, '/static/no-such-picture.png'));
        const other = speechSection({ media: {}, evidence: [] }, '/static/no-such-picture.png');
        host.append(other);
        await new Promise((r) => setTimeout(r, 300));  // both pictures fail to load
        const cells = [...host.querySelectorAll('.speech-lane .timeline.frames .cell')];
        return { heading: host.querySelector('h3').textContent, line: host.querySelector('.speech-line').textContent,
                 labels: cells.map((c) => c.getAttribute('aria-label')), lefts: cells.map((c) => c.style.left),
                 colours: cells.map((c) => c.style.background),
                 marks: [...host.querySelectorAll('.track-marks span')].map((m) => [m.style.left, m.style.width]),
                 finding: host.querySelector('.finding').textContent,
                 axis: host.querySelector('.speech .axis').textContent, imgs: host.querySelectorAll('img').length,
                 sections: host.querySelectorAll('section').length,
                 none: speechSection({ evidence: [{ detector: 'x', details: { window_starts: [] } }] }, null),
                 hour: (() => {  // an hour of windows: merged into 400 cells showing their highest score
                     const long = structuredClone(report);
                     Object.assign(long.media, { duration_s: 3600 });
                     const d = long.evidence[0].details;
                     d.window_starts = Array.from({ length: 7197 }, (_, i) => 0.5 * i);
                     d.window_scores = d.window_starts.map((_, i) => (i === 3000 ? 0.95 : 0.1));
                     const lane = speechSection(long, null).querySelectorAll('.cell');
                     return { cells: lane.length, top: [...lane].filter((c) => c.title.endsWith('highest 95%')).length };
                 })() };
    }""", _speech_report())
    assert found["heading"] == "Speech over time"
    assert found["line"] == "score 85% · flagged: 0:04.2–0:06.2 (85%)"
    assert len(found["labels"]) == 17 and found["lefts"][0] == "7.5%"
    assert found["labels"][0] == "0:00.8–0:01.2: 10%" and found["labels"][5].endswith("too quiet to judge")
    assert found["colours"][5] == "rgb(200, 204, 212)" and found["labels"][8].endswith(": 90%")
    assert found["marks"] == [["42.5%", "20%"]]
    assert found["finding"] == "The voice shows signs (probability 0.85)." and found["axis"] == "0:00.00:10.0"
    assert found["imgs"] == 0 and found["sections"] == 1  # a picture that fails leaves the lanes, or nothing
    assert found["none"] is None
    assert found["hour"] == {"cells": 400, "top": 1}


def test_an_uploaded_flac_shows_its_spectrogram(server, page):
    sf = pytest.importorskip("soundfile")
    t = np.arange(3 * 16000) / 16000
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, format="FLAC")
    page.goto(server + "/")
    shot.upload_and_wait(page, [{"name": "voice.flac", "mimeType": "audio/flac", "buffer": buf.getvalue()}])
    result = page.locator("#result-body")
    result.locator("h2", has_text="voice.flac").wait_for()
    result.locator("section.speech h3", has_text="Speech over time").wait_for()
    picture = result.locator("section.speech img.spectrogram")
    page.wait_for_function("() => document.querySelector('#result-body img.spectrogram')?.naturalWidth > 0")
    assert picture.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [900, 160]
    assert result.locator("section.speech .axis").inner_text().replace("\n", " ").split() == ["0:00.0", "0:03.0"]


def _count_on_page(page, text: str) -> int:
    """How many times `text` appears in the page's visible text."""
    return page.evaluate("(t) => document.body.innerText.split(t).length - 1", text)


def test_a_file_that_cannot_be_analysed_shows_its_error_once(server, page):
    page.goto(server + "/")
    shot.upload_and_wait(page, [{"name": "tiny.jpg", "mimeType": "image/jpeg",
                                 "buffer": bytes.fromhex("FF D8 FF E0")}])
    page.locator("#result-body h2", has_text="tiny.jpg").wait_for()
    message = "JPEG file is too short to hold an image: 4 bytes, ending inside the header"
    page.locator("#result-body .msg.err", has_text=message).first.wait_for()
    assert _count_on_page(page, message) == 1, page.locator("body").inner_text()


def test_a_failed_job_shows_its_error_once(server, page):
    """A job the server marks failed (a worker that died, a timeout): the list row and the result panel are
    both on the page, and the reason appears in one of them only."""
    reason = "analysis of this file failed: the worker process died (simulated)"

    def failed(route):
        response = route.fetch()
        job = response.json()
        job.update(status="failed", error=reason, report=None, verdict=None)
        route.fulfill(response=response, json=job)

    page.route(re.compile(r".*/v1/analyses/[^/?]+$"), failed)
    page.goto(server + "/")
    shot.upload_and_wait(page, [{"name": "doomed.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(7)}])
    assert page.locator("#jobs li").get_attribute("data-status") == "failed"
    page.locator("#result-body h2", has_text="doomed.jpg").wait_for()
    page.locator("#result-body .msg.err", has_text=reason).wait_for()
    assert _count_on_page(page, reason) == 1, page.locator("body").inner_text()
