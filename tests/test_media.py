"""Media loading: content sniffing for every supported format, what each container keeps (bytes, metadata,
JPEG tables, stream facts), lazy video frames and audio windows, resource limits, and a light import."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

import unmask
from conftest import gray_ramp_frame
from unmask.errors import LimitExceeded
from unmask.limits import Limits
from unmask.media import AudioMedia, ImageMedia, PostMedia, TextMedia, VideoMedia
from unmask.media import video as video_mod

# The IJG (JPEG Annex K) tables in natural row-major order; libjpeg's quality 50 uses them unscaled.
ANNEX_K_LUMA = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]])
ANNEX_K_CHROMA_ROW0 = [17, 18, 24, 47, 99, 99, 99, 99]


def _rgb(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """A smooth gradient plus mild noise: compresses like a photo, and rows differ from columns."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], axis=2)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- sniffing


def _lossless(fmt: str, **kw):
    return lambda mf, rgb: mf.image_bytes(rgb, fmt, **kw)


IMAGE_CASES = {
    "jpeg": lambda mf, rgb: mf.image_bytes(rgb, "JPEG", quality=95),
    "png": _lossless("PNG"),
    "webp": _lossless("WEBP", lossless=True),
    "tiff": _lossless("TIFF", compression="tiff_lzw"),
    "bmp": _lossless("BMP"),
}


@pytest.mark.parametrize("fmt", list(IMAGE_CASES))
def test_images_are_sniffed_from_content_not_extension(media_files, fmt):
    rgb = _rgb()
    data = IMAGE_CASES[fmt](media_files, rgb)
    path = media_files.write("upload.txt" if fmt != "png" else "upload.jpg", data)
    media = unmask.load(path)
    assert isinstance(media, ImageMedia) and media.kind == "image" and media.format == fmt
    assert (media.width, media.height) == (56, 40) and media.rgb.dtype == np.uint8
    assert media.data == data and media.size_bytes == len(data)
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    if fmt == "jpeg":
        assert np.abs(media.rgb.astype(int) - rgb).mean() < 4
    else:
        np.testing.assert_array_equal(media.rgb, rgb)
    assert unmask.load(data).sha256 == media.sha256  # bytes and path agree


def test_animated_gif_keeps_the_first_frame_and_counts_frames(media_files):
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    frames = [Image.new("RGB", (24, 16), c) for c in colours]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    media = unmask.load(media_files.write("anim.png", buf.getvalue()))
    assert media.format == "gif" and media.n_frames == 3
    assert media.rgb.shape == (16, 24, 3)
    assert np.abs(media.rgb.reshape(-1, 3).mean(0) - colours[0]).max() < 8


def test_animated_webp_counts_frames(media_files):
    frames = [Image.fromarray(_rgb(seed=i)) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    media = unmask.load(buf.getvalue())
    assert media.format == "webp" and media.n_frames == 4
    np.testing.assert_array_equal(media.rgb, np.asarray(frames[0]))


def test_heic_is_sniffed_and_decoded(media_files):
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this pillow-heif build has no HEIC encoder")
    rgb = _rgb(64, 96)
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(rgb)).save(buf, quality=95)
    media = unmask.load(media_files.write("photo.jpg", buf.getvalue()))
    assert media.format == "heic" and (media.width, media.height) == (96, 64)
    assert np.abs(media.rgb.astype(int) - rgb).mean() < 8


def _encoder(codec: str) -> None:
    av = pytest.importorskip("av")
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        pytest.skip(f"this PyAV build has no {codec} encoder")


VIDEO_CASES = [("mp4", "libx264", "mp4"), ("mov", "libx264", "mov"), ("mkv", "libx264", "matroska"),
               ("webm", "libvpx-vp9", "webm"), ("avi", "mpeg4", "avi")]


@pytest.mark.parametrize("fmt, codec, container", VIDEO_CASES, ids=[c[0] for c in VIDEO_CASES])
def test_video_containers_are_sniffed_and_probed(media_files, fmt, codec, container):
    _encoder(codec)
    path = media_files.video("clip.dat", seconds=1.0, fps=24, codec=codec, container_format=container)
    media = unmask.load(path)
    assert isinstance(media, VideoMedia) and media.format == fmt
    assert (media.width, media.height) == (64, 48)
    assert media.fps == pytest.approx(24, abs=0.01)
    assert media.duration_s == pytest.approx(1.0, abs=0.1)
    assert media.frame_count == pytest.approx(24, abs=1)
    assert not media.has_audio and media.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert media.info()["duration_s"] == media.duration_s


AUDIO_CASES = {  # name -> (writer, expected backend)
    "wav": (lambda mf, x, r: mf.audio("a.bin", x, r, "WAV", "PCM_16"), "soundfile"),
    "flac": (lambda mf, x, r: mf.audio("a.bin", x, r, "FLAC"), "soundfile"),
    "ogg": (lambda mf, x, r: mf.audio("a.bin", x, r, "OGG", "VORBIS"), "soundfile"),
    "mp3": (lambda mf, x, r: mf.audio("a.bin", x, r, "MP3"), "av"),
    "m4a": (lambda mf, x, r: mf.m4a("a.bin", x, r), "av"),
}


@pytest.mark.parametrize("fmt", list(AUDIO_CASES))
def test_audio_is_sniffed_and_probed(media_files, make_tone, fmt):
    pytest.importorskip("av")
    write, backend = AUDIO_CASES[fmt]
    path = write(media_files, make_tone(1.0, 44100), 44100)
    media = unmask.load(path)
    assert isinstance(media, AudioMedia) and media.format == fmt and media.backend == backend
    assert media.sample_rate == 44100 and media.channels == 1
    assert media.duration_s == pytest.approx(1.0, abs=0.06)


def test_stereo_wav_reports_two_channels(media_files, make_tone):
    x = np.stack([make_tone(0.5, 8000, 300), make_tone(0.5, 8000, 500)], axis=1)
    media = unmask.load(media_files.wav("stereo.jpg", x, 8000))
    assert (media.format, media.channels, media.sample_rate) == ("wav", 2, 8000)
    assert media.read().shape == (4000, 2)


def test_utf8_text_is_loaded_with_normalised_line_ends(media_files):
    data = "Zeile eins: grüße\r\nline two\rthree\n".encode()
    media = unmask.load(media_files.write("note.png", data))
    assert isinstance(media, TextMedia) and media.format == "txt"
    assert media.text == "Zeile eins: grüße\nline two\nthree\n"
    bom = unmask.load(b"\xef\xbb\xbfhello")
    assert bom.text == "hello"
    assert unmask.load(b'{"title": "no text field"}').format == "json"  # JSON, but not a post


# ----------------------------------------------------------------------------------------------- posts


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to open a network connection."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_post_loads_local_images_and_keeps_urls_as_references(media_files, no_network, tmp_path):
    folder = tmp_path / "post"
    folder.mkdir()
    media_files.root = folder
    media_files.jpeg("photo.jpg", _rgb())
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(media_files.image_bytes(_rgb(seed=1), "JPEG"))
    (folder / "link.jpg").symlink_to(outside)
    refs = ["photo.jpg", "https://example.org/a.jpg", "../secret.jpg", str(outside), "link.jpg"]
    post = folder / "post.json"
    post.write_text(json.dumps({"text": "Flooding downtown", "images": refs, "author": "x"}), encoding="utf-8")
    media = unmask.load(post)
    assert isinstance(media, PostMedia) and media.text == "Flooding downtown"
    assert [im.path.name for im in media.images] == ["photo.jpg"]
    assert media.images[0].format == "jpeg"
    assert media.image_refs == refs[1:]  # the URL and the three ways out of the folder, none loaded
    assert media.fields == {"author": "x"}


def test_post_given_as_bytes_resolves_no_local_paths(no_network):
    media = unmask.load(json.dumps({"text": "hi", "image": "photo.jpg"}).encode())
    assert isinstance(media, PostMedia) and media.images == [] and media.image_refs == ["photo.jpg"]


# ------------------------------------------------------------------------------------------ image facts


def test_jpeg_keeps_exif_with_sub_ifds_xmp_icc_and_stored_orientation(media_files):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "EOS 5D", 6  # Make, Model, Orientation
    exif.get_ifd(0x8769)[0x9003] = "2024:01:02 03:04:05"  # Exif IFD: DateTimeOriginal
    exif.get_ifd(0x8825)[1] = "N"  # GPS IFD: GPSLatitudeRef
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = media_files.image_bytes(_rgb(), "JPEG", quality=90, exif=exif.tobytes(), icc_profile=icc, xmp=xmp)
    media = unmask.load(data)
    assert media.exif["Make"] == "Canon" and media.exif["Model"] == "EOS 5D"
    assert media.exif["Orientation"] == 6 and media.rgb.shape == (40, 56, 3)  # recorded, not applied
    assert media.exif["DateTimeOriginal"] == "2024:01:02 03:04:05"
    assert media.exif["GPS.GPSLatitudeRef"] == "N"
    assert "ExifOffset" not in media.exif and "GPSInfo" not in media.exif
    assert media.icc_profile == icc
    assert media.xmp == xmp.decode()
    assert media.warnings == []


def test_png_keeps_text_chunks_and_xmp(media_files):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lighthouse, Steps: 20, Sampler: Euler")
    info.add_text("Comment", "zipped " * 20, zip=True)
    info.add_itxt("Title", "Ünïcode title")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>png</x:xmpmeta>")
    media = unmask.load(media_files.image_bytes(_rgb(), "PNG", pnginfo=info))
    assert media.png_text["parameters"] == "a lighthouse, Steps: 20, Sampler: Euler"
    assert media.png_text["Comment"] == "zipped " * 20
    assert media.png_text["Title"] == "Ünïcode title"
    assert media.xmp == "<x:xmpmeta>png</x:xmpmeta>"


def test_jpeg_quantization_tables_are_in_natural_order(media_files):
    path = media_files.jpeg("q50.jpg", _rgb(64, 64), quality=50)
    media = unmask.load(path)
    luma, chroma = media.jpeg.qtables[0], media.jpeg.qtables[1]
    np.testing.assert_array_equal(luma, ANNEX_K_LUMA)  # not symmetric: a transposed or zigzag table fails
    assert chroma[0].tolist() == ANNEX_K_CHROMA_ROW0
    assert media.jpeg.subsampling == "4:2:0" and not media.jpeg.progressive
    jpeglib = pytest.importorskip("jpeglib")
    qt = jpeglib.read_dct(str(path)).qt
    np.testing.assert_array_equal(luma, qt[0])
    np.testing.assert_array_equal(chroma, qt[1])


def test_jpeg_subsampling_gray_and_progressive_flags(media_files):
    full = unmask.load(media_files.image_bytes(_rgb(), "JPEG", subsampling=0, progressive=True))
    assert full.jpeg.subsampling == "4:4:4" and full.jpeg.progressive
    gray = unmask.load(media_files.image_bytes(_rgb()[..., 0], "JPEG"))
    assert gray.jpeg.subsampling == "gray" and gray.mode == "L" and gray.rgb.shape == (40, 56, 3)
    assert sorted(gray.jpeg.qtables) == [0]


def test_16_bit_grayscale_is_scaled_to_8_bit(media_files):
    levels = np.array([[0, 257, 32896, 65535]], np.uint16).repeat(3, 0)
    media = unmask.load(media_files.image_bytes(Image.fromarray(levels), "PNG"))
    assert media.mode.startswith("I")
    assert media.rgb.shape == (3, 4, 3) and media.rgb.dtype == np.uint8
    assert media.rgb[0, :, 0].tolist() == [0, 1, 128, 255]
    assert (media.rgb[..., 0] == media.rgb[..., 2]).all()


def test_alpha_is_composited_on_white(media_files):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 0)  # fully transparent black: hidden, shows as white
    rgba[0, 1] = (255, 0, 0, 255)  # opaque red
    rgba[0, 2] = (255, 0, 0, 128)  # half-transparent red over white
    rgba[1] = (10, 20, 30, 255)
    media = unmask.load(media_files.image_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert media.mode == "RGBA"
    assert media.rgb[0].tolist() == [[255, 255, 255], [255, 0, 0], [255, 127, 127]]
    assert media.rgb[1, 0].tolist() == [10, 20, 30]
    la = unmask.load(media_files.image_bytes(Image.fromarray(rgba[..., [0, 3]], "LA"), "PNG"))
    assert la.rgb[0, 0].tolist() == [255, 255, 255] and la.rgb[0, 1].tolist() == [255, 255, 255]
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 0, 0, 0, 255])
    palette.putpixel((1, 0), 1)
    pal = unmask.load(media_files.image_bytes(palette, "PNG", transparency=0))
    assert pal.rgb[0].tolist() == [[255, 255, 255], [0, 0, 255]]


# ------------------------------------------------------------------------------------------------ video


@pytest.fixture
def long_video(media_files):
    """12 s at 10 fps with a keyframe every second: frame i has gray level 20 + 8*(i % 27)."""
    _encoder("libx264")
    return unmask.load(media_files.video("long.mp4", seconds=12, fps=10, gop=10))


def _frame_index(frame: np.ndarray) -> int:
    """Frame i mod 27, from its flat gray level below the moving square."""
    gray = frame[16:, :, 0].mean()
    return round(float(gray - 20) / 8) % 27


def test_video_facts_are_known_at_load_without_decoding_all_frames(long_video):
    assert (long_video.width, long_video.height, long_video.fps) == (64, 48, 10.0)
    assert long_video.duration_s == pytest.approx(12.0, abs=0.05) and long_video.frame_count == 120
    assert long_video.codec == "h264"


def test_frames_at_or_after_requested_times(long_video):
    times = [0.0, 0.33, 0.5, 5.05, 11.0, 11.95, 30.0]
    got = list(long_video.frames(times))
    # 11.95 is past the last frame (11.9) but within the duration: the last frame; 30 s is past the end.
    assert [round(t, 3) for t, _ in got] == [0.0, 0.4, 0.5, 5.1, 11.0, 11.9]
    for (t, frame), want in zip(got, times, strict=False):
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert _frame_index(frame) == round(t * 10) % 27
        assert t >= min(want, 11.9) - 1e-6
    expected = gray_ramp_frame(51)[16:, :, 0].mean()
    assert abs(got[3][1][16:, :, 0].mean() - expected) < 4


def test_far_apart_times_are_reached_by_seeking_with_the_same_frames(long_video, monkeypatch):
    seeks: list[float] = []
    real_seek = video_mod._seek

    def spy(container, stream, t, decoder):
        seeks.append(t)
        return real_seek(container, stream, t, decoder)

    monkeypatch.setattr(video_mod, "_seek", spy)
    times = [0.2, 4.0, 8.3, 11.1]
    sought = list(long_video.frames(times))
    assert seeks == pytest.approx([4.0, 8.3, 11.1])
    monkeypatch.setattr(video_mod, "SEEK_GAP_S", 1e9)  # decode straight through instead
    linear = list(long_video.frames(times))
    assert len(seeks) == 3
    assert [t for t, _ in sought] == [t for t, _ in linear] == pytest.approx([0.2, 4.0, 8.3, 11.1])
    for (_, a), (_, b) in zip(sought, linear, strict=True):
        np.testing.assert_array_equal(a, b)
    seeks.clear()
    list(long_video.frames([0.1, 0.5, 1.2]))
    assert seeks == []  # close times decode forward


def test_every_frame_in_order(long_video):
    frames = list(long_video.frames())
    assert len(frames) == 120
    assert [round(t, 3) for t, _ in frames] == [round(i / 10, 3) for i in range(120)]
    assert [_frame_index(f) for _, f in frames[:30]] == [i % 27 for i in range(30)]


def test_sample_times_spread_over_the_duration(long_video):
    assert long_video.sample_times(4) == pytest.approx([0.0, 3.0, 6.0, 9.0], abs=0.05)


# ------------------------------------------------------------------------------------------------ audio


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_16"), ("FLAC", None)])
def test_lossless_audio_window_matches_the_tone(media_files, make_tone, fmt, subtype):
    x = make_tone(4.0, 16000, 440)
    media = unmask.load(media_files.audio(f"tone.{fmt.lower()}", x, 16000, fmt, subtype))
    assert media.backend == "soundfile"
    for start, end in [(0.25, 0.5), (3.0, 3.5), (3.9, None)]:
        window = media.read(start, end)
        lo, hi = round(start * 16000), round(end * 16000) if end else len(x)
        assert window.shape == (hi - lo, 1) and window.dtype == np.float32
        np.testing.assert_allclose(window[:, 0], x[lo:hi], atol=2e-4)  # one sample off would be 0.09
    assert media.read(0.5, 0.5).shape == (0, 1)


@pytest.mark.parametrize("fmt", ["ogg", "mp3", "m4a"])
def test_lossy_audio_windows_agree_with_the_full_decode(media_files, make_tone, fmt):
    """A window (read directly, or after a seek) is the same samples as that slice of the whole decode."""
    pytest.importorskip("av")
    rate = 44100 if fmt == "m4a" else 22050
    x = make_tone(5.0, rate, 440)
    media = unmask.load(AUDIO_CASES[fmt][0](media_files, x, rate))
    full = media.read()
    assert abs(len(full) - len(x)) <= 0.05 * rate
    middle = slice(rate // 2, 4 * rate)
    assert np.corrcoef(full[middle, 0], x[middle])[0, 1] > 0.99  # aligned with the tone
    for start, end in [(0.25, 0.5), (3.0, 3.5)]:
        window = media.read(start, end)
        lo, hi = round(start * rate), round(end * rate)
        assert window.shape == (hi - lo, 1)
        np.testing.assert_allclose(window, full[lo:hi], atol=1e-3)
        spectrum = np.abs(np.fft.rfft(window[:, 0]))
        assert np.argmax(spectrum) * rate / len(window) == pytest.approx(440, abs=5)


# ----------------------------------------------------------------------------------------------- limits


def test_max_bytes(media_files):
    data = media_files.image_bytes(_rgb(), "PNG")
    with pytest.raises(LimitExceeded, match=rf"{len(data):,} bytes, above the 1,000-byte limit"):
        unmask.load(data, limits=Limits(max_bytes=1000))
    path = media_files.write("big.png", data)
    with pytest.raises(LimitExceeded, match="above the 1,000-byte limit") as info:
        unmask.load(path, limits=Limits(max_bytes=1000))
    assert info.value.code == "limit_exceeded"


def test_max_pixels_for_images_and_video_frames(media_files):
    with pytest.raises(LimitExceeded, match=r"56x40 = 2,240 pixels, above the 2,000-pixel limit"):
        unmask.load(media_files.image_bytes(_rgb(), "PNG"), limits=Limits(max_pixels=2000))
    _encoder("libx264")
    clip = media_files.video("c.mp4", seconds=0.2)
    with pytest.raises(LimitExceeded, match=r"64x48, above the 3,000-pixel limit"):
        unmask.load(clip, limits=Limits(max_pixels=3000))


def test_max_duration_for_audio_and_video(media_files, make_tone):
    wav = media_files.wav("long.wav", make_tone(3.0, 8000), 8000)
    with pytest.raises(LimitExceeded, match=r"audio lasts 3.0 s, above the 2 s limit"):
        unmask.load(wav, limits=Limits(max_duration_s=2))
    _encoder("libx264")
    clip = media_files.video("c.mp4", seconds=3.0, fps=10)
    with pytest.raises(LimitExceeded, match=r"video lasts 3.0 s, above the 2 s limit"):
        unmask.load(clip, limits=Limits(max_duration_s=2))
    assert unmask.load(clip, limits=Limits(max_duration_s=4)).duration_s == pytest.approx(3.0, abs=0.05)


def test_max_text_chars():
    with pytest.raises(LimitExceeded, match=r"text has 1,001 characters, above the 1,000 limit"):
        unmask.load(b"a" * 1001, limits=Limits(max_text_chars=1000))
    assert len(unmask.load(b"a" * 1000, limits=Limits(max_text_chars=1000)).text) == 1000


# ----------------------------------------------------------------------------------------------- import


def test_import_unmask_stays_light():
    heavy = ["torch", "cv2", "scipy", "av", "soundfile"]
    code = ("import sys, unmask, unmask.media, unmask.cli; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
