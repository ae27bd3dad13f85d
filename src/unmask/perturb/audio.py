"""Audio perturbations (numpy, soundfile, PyAV): audio bytes in (anything soundfile reads), WAV bytes out.

The output keeps the input's sample rate, channel count and length, and its PCM sample type when it is one
of PCM_16/24/32, FLOAT or DOUBLE (else PCM_16), so a detector compares like with like. Codec round trips
(MP3, Opus) decode straight back to WAV; FFmpeg removes the encoder delay, so the audio stays aligned.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .spec import Op, Param, register

MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_KEEP_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")
TELEPHONE_RATE = 8000
_TAPER_HZ = 100.0


def read(data: bytes) -> tuple[np.ndarray, int, str]:
    """Decode to float64 samples shaped (n, channels), with the rate and soundfile's subtype name."""
    import soundfile as sf

    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            x = f.read(dtype="float64", always_2d=True)
            return x, int(f.samplerate), str(f.subtype)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValueError(f"not a readable audio file: {exc}") from exc


def write(x: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    """WAV bytes; integer PCM is clipped to [-1, 1] first (libsndfile would otherwise wrap around)."""
    import soundfile as sf

    subtype = subtype if subtype in _KEEP_SUBTYPES else "PCM_16"
    if subtype.startswith("PCM"):
        x = np.clip(x, -1.0, 1.0)
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling by FFT (truncate or zero-pad the spectrum); the signal is treated as periodic,
    so only the edges see any wrap-around."""
    if rate_in == rate_out or len(x) == 0:
        return x
    n, m = len(x), max(1, round(len(x) * rate_out / rate_in))
    spec = np.fft.rfft(x, axis=0)
    out = np.zeros((m // 2 + 1, x.shape[1]), dtype=complex)
    k = min(len(spec), len(out))
    out[:k] = spec[:k]
    return np.fft.irfft(out, n=m, axis=0) * (m / n)


def band_limit(x: np.ndarray, rate: int, low: float, high: float) -> np.ndarray:
    """Zero-phase band-pass by FFT: unity gain in [low, high], raised-cosine roll-off over 100 Hz outside."""
    f = np.fft.rfftfreq(len(x), 1.0 / rate)
    gain = np.ones_like(f)
    below, above = f < low, f > high
    gain[below] = np.cos(np.clip((low - f[below]) / _TAPER_HZ, 0, 1) * np.pi / 2) ** 2
    gain[above] = np.cos(np.clip((f[above] - high) / _TAPER_HZ, 0, 1) * np.pi / 2) ** 2
    return np.fft.irfft(np.fft.rfft(x, axis=0) * gain[:, None], n=len(x), axis=0)


def mulaw_roundtrip(x: np.ndarray, mu: float = 255.0) -> np.ndarray:
    """8-bit mu-law companding and back (the continuous law; G.711 uses its segmented approximation)."""
    y = np.sign(x) * np.log1p(mu * np.abs(np.clip(x, -1, 1))) / np.log1p(mu)
    y = np.round(y * 127.0) / 127.0
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def _telephone(data: bytes, rng: np.random.Generator, low: float, high: float, mulaw: bool) -> bytes:
    x, rate, subtype = read(data)
    y = band_limit(x, rate, low, high)
    y = resample(y, rate, TELEPHONE_RATE)
    if mulaw:
        y = mulaw_roundtrip(y)
    return write(_fit_length(resample(y, TELEPHONE_RATE, rate), len(x)), rate, subtype)


def codec_roundtrip(x: np.ndarray, rate: int, codec: str, kbps: int) -> tuple[np.ndarray, int]:
    """Encode with PyAV (libmp3lame in MP3, libopus in Ogg) at `kbps` and decode back.

    Returns the decoded samples (n, channels) and their rate, untrimmed. The encoder runs at `rate` when the
    codec supports it, else at the next supported rate up (48 kHz at most), reached by FFT resampling.
    """
    if x.shape[1] > 2:
        raise ValueError(f"{codec}: mono or stereo input only, got {x.shape[1]} channels")
    rates = MP3_RATES if codec == "mp3" else OPUS_RATES
    enc_rate = next((r for r in rates if r >= rate), rates[-1])
    encoded = _encode(resample(x, rate, enc_rate), enc_rate, codec, kbps)
    return _decode(encoded)


def _encode(x: np.ndarray, rate: int, codec: str, kbps: int) -> bytes:
    import av

    layout = "mono" if x.shape[1] == 1 else "stereo"
    fmt, name = ("mp3", "libmp3lame") if codec == "mp3" else ("ogg", "libopus")
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(name, rate=rate, layout=layout)
        stream.bit_rate = int(kbps) * 1000
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T, dtype=np.float32), format="fltp",
                                           layout=layout)
        frame.sample_rate, frame.pts = rate, 0
        out.mux(stream.encode(frame))  # PyAV re-chunks to the codec's frame size
        out.mux(stream.encode(None))
    return buf.getvalue()


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    import av

    chunks = []
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            a = frame.to_ndarray()
            channels = len(frame.layout.channels)
            chunks.append(a if frame.format.is_planar else a.reshape(-1, channels).T)
        rate = int(stream.rate)
    return np.concatenate(chunks, axis=1).T.astype(np.float64), rate


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad the tail to n samples (codec padding, FFT-resampling rounding)."""
    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros((n - len(y), y.shape[1]))])


def _codec(codec: str):
    def run(data: bytes, rng: np.random.Generator, kbps: int) -> bytes:
        x, rate, subtype = read(data)
        y, dec_rate = codec_roundtrip(x, rate, codec, kbps)
        return write(_fit_length(resample(y, dec_rate, rate), len(x)), rate, subtype)

    return run


def _awgn(data: bytes, rng: np.random.Generator, snr: float) -> bytes:
    x, rate, subtype = read(data)
    power = float(np.mean(x ** 2)) if x.size else 0.0
    if power == 0.0:
        raise ValueError("awgn: the input is silent, so a signal-to-noise ratio is undefined")
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr / 10)), x.shape)
    return write(x + noise, rate, subtype)


def _gain(data: bytes, rng: np.random.Generator, db: float) -> bytes:
    x, rate, subtype = read(data)
    return write(x * 10 ** (db / 20), rate, subtype)


def _band(p: dict[str, Any]) -> None:
    if p["low"] >= p["high"]:
        raise ValueError(f"telephone: low ({p['low']}) must be below high ({p['high']})")


register(Op("telephone", (Param("low", float, 300.0, lo=0, hi=3800), Param("high", float, 3400.0, lo=200, hi=3900),
                          Param("mulaw", bool, False)), {"audio": _telephone},
            "Telephone band: band-pass low..high Hz, resample to 8 kHz (optionally 8-bit mu-law), resample back.",
            check=_band))
register(Op("mp3", (Param("kbps", int, lo=8, hi=320),), {"audio": _codec("mp3")},
            "MP3 (LAME) encode at kbps and decode back; LAME uses the nearest bitrate its sample rate allows."))
register(Op("opus", (Param("kbps", int, lo=6, hi=510),), {"audio": _codec("opus")},
            "Opus (libopus, Ogg) encode at kbps and decode back."))
register(Op("awgn", (Param("snr", float, lo=-20, hi=100),), {"audio": _awgn},
            "Additive white Gaussian noise at snr dB below the file's mean signal power, seeded.", random=True))
register(Op("gain", (Param("db", float, lo=-60, hi=40),), {"audio": _gain},
            "Multiply by 10^(db/20); integer PCM output clips at full scale."))
