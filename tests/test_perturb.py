"""unmask.perturb: spec round trips, seeded determinism, and what each op does to real encoded files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import unmask
from unmask.perturb import Chain, Perturbation, parse
from unmask.perturb.audio import codec_roundtrip
from unmask.perturb.chains import PLATFORMS
from unmask.perturb.image import strip_jpeg

EXIF_MAKE = 0x010F


def encode(array: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **kw)
    return buf.getvalue()


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def exif_bytes(make: str = "UnitTestCam") -> bytes:
    exif = Image.Exif()
    exif[EXIF_MAKE] = make
    return exif.tobytes()


def pillow_tables(q: int) -> dict[int, np.ndarray]:
    """The tables Pillow (libjpeg) writes at quality q, read back the way unmask reads them."""
    flat = np.full((16, 16, 3), 128, np.uint8)
    return unmask.load(encode(flat, "JPEG", quality=q)).jpeg.qtables


@pytest.fixture(scope="module")
def photo_jpeg(photo: np.ndarray) -> bytes:
    """A 512x384 crop of the astronaut photo as a q=92 JPEG carrying EXIF."""
    return encode(photo[:384], "JPEG", quality=92, exif=exif_bytes())


@pytest.fixture(scope="module")
def photo_png(photo: np.ndarray) -> bytes:
    return encode(photo[:384], "PNG")


def wav(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, rate = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return x, rate


def tones(rate: int, seconds: float, *freqs: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return sum(amp * np.sin(2 * np.pi * f * t) for f in freqs)


def band_energy(x: np.ndarray, rate: int, freq: float, half_width: float = 50.0) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1.0 / rate)
    return float(spec[np.abs(f - freq) <= half_width].sum())


# --- specs ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [
    "jpeg(q=75)", "jpeg(q=75,subsampling=4:4:4,progressive=true)", "resize(factor=0.5)", "resize(long=1024)",
    "resize(long=300,filter=bicubic)", "fit(long=2048)", "crop(frac=0.8,at=random)", "blur(sigma=1.5)",
    "noise(sigma=3.0)", "gamma(g=0.8)", "screenshot(scale=0.5)", "strip", "strip(icc=true)", "webp(q=60)",
    "png", "chain:twitter", "chain:whatsapp|noise(sigma=2.0)", "telephone", "telephone(mulaw=true)",
    "mp3(kbps=64)|awgn(snr=20.0)|gain(db=-6.0)", "opus(kbps=24)", "h264(crf=23)", "h264(crf=30,preset=fast)",
])
def test_canonical_spec_round_trips(spec):
    chain = parse(spec)
    assert str(chain) == spec
    assert parse(str(chain)) == chain
    assert hash(parse(spec)) == hash(chain)


def test_positional_and_default_arguments_normalise():
    assert parse("resize(0.5)") == parse("resize(factor=0.5)") == parse(" resize ( factor = 0.50 ) ")
    assert str(parse("resize(0.5)")) == "resize(factor=0.5)"
    assert parse("jpeg(75)") == parse("jpeg(q=75,subsampling=4:2:0,progressive=false)")
    assert str(parse("jpeg(75,subsampling=4:2:0)")) == "jpeg(q=75)"  # defaults are not spelled out
    assert parse("JPEG(q=75) | Chain:Twitter") == parse("jpeg(q=75)|chain:twitter")
    assert parse("jpeg(q=75)") != parse("jpeg(q=76)")


def test_python_construction_and_composition_match_parsing():
    chain = Perturbation("jpeg", {"q": 75}) | Perturbation("resize", {"long": 1024})
    assert isinstance(chain, Chain)
    assert chain == parse("jpeg(q=75)|resize(long=1024)")
    assert Perturbation.parse("blur(2)") == Perturbation("blur", {"sigma": 2})
    assert chain.spec == "jpeg(q=75)|resize(long=1024)"


def test_platform_chain_expands_to_documented_steps():
    p = PLATFORMS["twitter"]
    expanded = parse("chain:twitter").expanded()
    assert str(expanded) == f"fit(long={p.long_side})|jpeg(q={p.quality})|strip"
    assert parse("chain:x").expanded() == expanded


def test_cache_key_depends_on_seed_only_when_something_is_random():
    fixed, noisy = parse("jpeg(q=75)|resize(0.5)"), parse("jpeg(q=75)|noise(sigma=2)")
    assert fixed.cache_key(1) == fixed.cache_key(2)
    assert noisy.cache_key(1) != noisy.cache_key(2)
    assert noisy.cache_key(1) == parse(str(noisy)).cache_key(1)
    assert fixed.cache_key(0) != noisy.cache_key(0)
    assert parse("crop(0.5)").random is False and parse("crop(0.5,at=random)").random is True


@pytest.mark.parametrize(("spec", "message"), [
    ("jpg(q=75)", "did you mean 'jpeg'"),
    ("jpeg(q=150)", "q must be an integer in [1, 100], got 150"),
    ("jpeg(q=0)", "q must be an integer in [1, 100]"),
    ("jpeg(q=7.5)", "q must be an integer"),
    ("jpeg(q=high)", "q must be an integer"),
    ("jpeg", "missing q"),
    ("jpeg(quality=75)", "unknown parameter 'quality'; jpeg takes q, subsampling, progressive"),
    ("jpeg(q=75,subsampling=4:1:1)", "subsampling must be one of 4:4:4, 4:2:2, 4:2:0"),
    ("jpeg(q=75", "malformed"),
    ("jpeg(q=)", "malformed argument"),
    ("jpeg(q=75,q=80)", "q given twice"),
    ("jpeg(q=75)||png", "empty step"),
    ("|jpeg(q=75)", "empty step"),
    ("", "empty perturbation spec"),
    ("jpeg(q=75)(x)", "malformed"),
    ("resize(0.5,long=100)", "exactly one of factor"),
    ("resize", "exactly one of factor"),
    ("resize(0)", "factor must be a number in (0, 16]"),
    ("crop(1.5)", "frac must be a number in (0, 1]"),
    ("crop(0.5,at=left)", "at must be one of center, random"),
    ("blur(-1)", "sigma must be"),
    ("gamma(nan)", "g must be"),
    ("telephone(low=3000,high=2000)", "low (3000.0) must be below high"),
    ("mp3(kbps=1000)", "kbps must be an integer in [8, 320]"),
    ("h264(crf=60)", "crf must be an integer in [0, 51]"),
    ("h264(crf=20,preset=turbo)", "preset must be one of"),
    ("chain:myspace", "platform must be one of"),
    ("jpeg(q=75)|mp3(kbps=64)", "cannot chain 'mp3'"),
    ("noise(1,2)", "too many values"),
    ("blur(sigma=1,2)", "positional value '2' after a key=value"),
])
def test_bad_specs_raise_helpful_value_errors(spec, message):
    with pytest.raises(ValueError, match=None) as info:
        parse(spec)
    assert message in str(info.value)


def test_apply_rejects_wrong_media_and_bad_seeds(photo_png):
    with pytest.raises(ValueError, match="applies to audio, but the input is image"):
        parse("mp3(kbps=64)").apply(photo_png)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        parse("noise(1)").apply(photo_png, seed=-1)
    with pytest.raises(TypeError):
        parse("png").apply("not bytes")  # type: ignore[arg-type]


# --- determinism --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["noise(sigma=4)", "crop(0.6,at=random)", "jpeg(q=80)|noise(2)|chain:facebook"])
def test_same_seed_same_bytes_different_seed_different_bytes(photo_jpeg, spec):
    chain = parse(spec)
    a, b, c = chain.apply(photo_jpeg, seed=7), chain.apply(photo_jpeg, seed=7), chain.apply(photo_jpeg, seed=8)
    assert a == b
    assert a != c


def test_deterministic_ops_ignore_the_seed(photo_jpeg):
    chain = parse("resize(0.5)|jpeg(q=70)|strip")
    assert chain.apply(photo_jpeg, seed=1) == chain.apply(photo_jpeg, seed=2)


def test_audio_noise_is_seeded():
    data = wav(tones(16000, 0.5, 440.0), 16000)
    op = parse("awgn(snr=10)")
    assert op.apply(data, seed=3) == op.apply(data, seed=3)
    assert op.apply(data, seed=3) != op.apply(data, seed=4)


# --- image ops -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", [30, 75, 95])
def test_jpeg_quantization_tables_match_pillows_for_that_quality(photo_png, q):
    out = parse(f"jpeg(q={q})").apply(photo_png)
    media = unmask.load(out)
    assert media.format == "jpeg"
    expected = pillow_tables(q)
    assert set(media.jpeg.qtables) == set(expected) == {0, 1}
    for idx in expected:
        np.testing.assert_array_equal(media.jpeg.qtables[idx], expected[idx])
    other = pillow_tables(q + 3)
    assert not np.array_equal(media.jpeg.qtables[0], other[0])


def test_jpeg_subsampling_option(photo_png):
    assert unmask.load(parse("jpeg(q=90,subsampling=4:4:4)").apply(photo_png)).jpeg.subsampling == "4:4:4"
    assert unmask.load(parse("jpeg(q=90)").apply(photo_png)).jpeg.subsampling == "4:2:0"


@pytest.mark.parametrize(("spec", "size"), [
    ("resize(long=1000)", (1000, 750)), ("resize(long=200)", (200, 150)), ("resize(0.5)", (256, 192)),
    ("fit(long=1000)", (512, 384)), ("fit(long=256)", (256, 192)), ("crop(0.5)", (256, 192)),
    ("screenshot(0.25)", (128, 96)),
])
def test_output_sizes(photo_jpeg, spec, size):
    assert unmask.load(parse(spec).apply(photo_jpeg)).info()["width"] == size[0]
    assert unmask.load(parse(spec).apply(photo_jpeg)).info()["height"] == size[1]


def test_pixel_ops_keep_format_tables_and_exif(photo_jpeg, photo_png):
    src = unmask.load(photo_jpeg)
    for spec in ("resize(0.5)", "blur(1)", "gamma(1.2)", "noise(2)", "crop(0.7,at=random)"):
        out = unmask.load(parse(spec).apply(photo_jpeg, seed=1))
        assert out.format == "jpeg", spec
        assert out.exif.get("Make") == "UnitTestCam", spec
        for idx in src.jpeg.qtables:
            np.testing.assert_array_equal(out.jpeg.qtables[idx], src.jpeg.qtables[idx])
    assert unmask.load(parse("blur(1)").apply(photo_png)).format == "png"


def test_platform_chain_resizes_recompresses_and_strips_metadata():
    rng = np.random.default_rng(0)
    big = np.clip(rng.normal(128, 40, (1200, 1600, 3)), 0, 255).astype(np.uint8)
    data = encode(big, "JPEG", quality=95, exif=exif_bytes(), comment=b"edited by hand")
    wechat = PLATFORMS["wechat"]
    out = parse("chain:wechat").apply(data)
    media = unmask.load(out)
    assert (media.width, media.height) == (wechat.long_side, round(1200 * wechat.long_side / 1600))
    assert media.exif == {}
    assert b"Exif\x00\x00" not in out and b"UnitTestCam" not in out and b"edited by hand" not in out
    np.testing.assert_array_equal(media.jpeg.qtables[0], pillow_tables(wechat.quality)[0])
    kept = unmask.load(parse("jpeg(q=75)").apply(data))  # a plain re-encode keeps EXIF; the chain does not
    assert kept.exif.get("Make") == "UnitTestCam"


def test_strip_is_lossless_and_removes_png_text(photo_png, photo_jpeg):
    stripped = parse("strip").apply(photo_jpeg)
    np.testing.assert_array_equal(decoded(stripped), decoded(photo_jpeg))
    assert unmask.load(stripped).exif == {} and len(stripped) < len(photo_jpeg)
    assert strip_jpeg(stripped) == stripped
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "SecretEditor 9")
    tagged = encode(np.asarray(Image.open(io.BytesIO(photo_png))), "PNG", pnginfo=info)
    out = parse("strip").apply(tagged)
    assert b"SecretEditor" in tagged and b"SecretEditor" not in out
    np.testing.assert_array_equal(decoded(out), decoded(tagged))


def test_center_crop_is_the_middle_and_random_crop_moves_with_the_seed(photo_png):
    src = decoded(photo_png)
    np.testing.assert_array_equal(decoded(parse("crop(0.5)").apply(photo_png)), src[96:288, 128:384])
    crops = {parse("crop(0.5,at=random)").apply(photo_png, seed=s) for s in range(4)}
    assert len(crops) > 1


def test_noise_sigma_and_blur_sigma_are_what_they_say():
    rng = np.random.default_rng(1)
    flat = encode(np.full((256, 256, 3), 128, np.uint8), "PNG")
    noisy = decoded(parse("noise(sigma=6)").apply(flat, seed=0)).astype(float) - 128
    assert abs(noisy.std() - 6.0) < 0.2 and abs(noisy.mean()) < 0.2
    white = np.clip(rng.normal(128, 30, (256, 256)), 0, 255).astype(np.uint8)
    blurred = decoded(parse("blur(sigma=2)").apply(encode(white, "PNG")))[..., 0].astype(float)
    # a 2-D Gaussian passes 1 / (4 pi sigma^2) of white noise's variance
    ratio = blurred[16:-16, 16:-16].var() / white.astype(float).var()
    assert ratio == pytest.approx(1 / (4 * np.pi * 4), rel=0.15)


def test_gamma_maps_grey_levels():
    grey = encode(np.full((8, 8, 3), 128, np.uint8), "PNG")
    assert decoded(parse("gamma(2)").apply(grey))[0, 0, 0] == 64
    assert decoded(parse("gamma(0.5)").apply(grey))[0, 0, 0] == 181


def test_screenshot_is_a_metadata_free_png(photo_jpeg):
    out = parse("screenshot(0.5)").apply(photo_jpeg)
    media = unmask.load(out)
    assert media.format == "png" and media.exif == {} and media.width == 256


def test_webp_and_png_change_format(photo_jpeg):
    assert unmask.load(parse("webp(q=50)").apply(photo_jpeg)).format == "webp"
    out = parse("png").apply(photo_jpeg)
    assert unmask.load(out).format == "png"
    np.testing.assert_array_equal(decoded(out), decoded(photo_jpeg))


# --- audio ops -----------------------------------------------------------------------------------------------------

def test_telephone_band_removes_6khz_and_keeps_1khz():
    rate = 16000
    x = tones(rate, 1.0, 100.0, 1000.0, 3800.0, 6000.0, amp=0.2)
    y, out_rate = read_wav(parse("telephone").apply(wav(x, rate)))
    assert out_rate == rate and len(y) == len(x)

    def change_db(freq: float) -> float:
        return 10 * np.log10(band_energy(y[:, 0], rate, freq, 20) / band_energy(x, rate, freq, 20))

    assert change_db(1000) > -0.5  # in the 300-3400 Hz band
    assert change_db(6000) < -60  # above 4 kHz, gone with the 8 kHz sampling
    assert change_db(100) < -40 and change_db(3800) < -40  # outside the band, removed by the band-pass


@pytest.mark.parametrize(("codec", "rate", "frame"), [("mp3", 16000, 576), ("mp3", 44100, 1152),
                                                      ("opus", 16000, 320), ("opus", 44100, 960)])
def test_codec_round_trip_keeps_duration_and_alignment(codec, rate, frame):
    x = tones(rate, 1.0, 440.0, 1000.0)[:, None]
    raw, dec_rate = codec_roundtrip(x, rate, codec, 64)
    frame_seconds = frame / (rate if codec == "mp3" else min(r for r in (8000, 12000, 16000, 24000, 48000)
                                                               if r >= rate))
    assert abs(len(raw) / dec_rate - 1.0) <= frame_seconds
    y, out_rate = read_wav(parse(f"{codec}(kbps=64)").apply(wav(x, rate)))
    assert out_rate == rate and y.shape == x.shape
    core = slice(rate // 10, -rate // 10)
    lags = range(-20, 21)
    corr = [np.dot(np.roll(y[:, 0], -k)[core], x[core, 0]) for k in lags]
    assert abs(lags[int(np.argmax(corr))]) <= 1
    assert np.corrcoef(y[core, 0], x[core, 0])[0, 1] > 0.9


def test_awgn_hits_the_requested_snr_and_gain_scales():
    x = tones(16000, 1.0, 440.0)
    data = wav(x, 16000, "FLOAT")
    y, _ = read_wav(parse("awgn(snr=10)").apply(data, seed=0))
    noise = y[:, 0] - x
    assert 10 * np.log10(np.mean(x ** 2) / np.mean(noise ** 2)) == pytest.approx(10.0, abs=0.2)
    g, _ = read_wav(parse("gain(db=-6.0206)").apply(data))
    np.testing.assert_allclose(g[:, 0], x / 2, atol=1e-6)
    with pytest.raises(ValueError, match="silent"):
        parse("awgn(snr=10)").apply(wav(np.zeros(1000), 16000))


# --- video ops -----------------------------------------------------------------------------------------------------

def video_info(data: bytes) -> tuple[int, int, int]:
    import av

    with av.open(io.BytesIO(data)) as c:
        frames = list(c.decode(video=0))
        return frames[0].width, frames[0].height, len(frames)


def test_h264_higher_crf_gives_smaller_file(media_files):
    data = media_files.video("clip.mp4", seconds=1.0, fps=24, size=(64, 48)).read_bytes()
    low, high = parse("h264(crf=18)").apply(data), parse("h264(crf=40)").apply(data)
    assert len(high) < len(low)
    assert video_info(low) == video_info(high) == (64, 48, 24)
    assert unmask.load(low).kind == "video"
    assert parse("h264(crf=18)").apply(data) == low


def test_resize_works_on_video(media_files):
    data = media_files.video("clip.mp4", seconds=0.5, fps=24, size=(64, 48)).read_bytes()
    assert video_info(parse("resize(0.5)").apply(data)) == (32, 24, 12)
    assert video_info(parse("resize(long=100)").apply(data)) == (100, 74, 12)  # 75 rounded down to even
