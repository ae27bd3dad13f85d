"""Builders for the provenance tests: a test CA and signer for C2PA, signed assets, raw EXIF blocks with
thumbnails, PNGs with text chunks, and JPEG segment surgery. Everything is generated at test time, offline.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
CAPTURE_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


# ------------------------------------------------------------------------------------------------ C2PA


def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "unmask tests")])


def _pem(cert) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(cn: str = "unmask test CA"):
    """(key, certificate) of a self-signed ES256 certificate authority."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_signer_info(ca, cn: str = "unmask test signer"):
    """c2pa signer info for a leaf certificate issued by `ca` (CA:false, digitalSignature, emailProtection)."""
    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, (_pem(cert) + _pem(ca_cert)).encode(), key_pem, None)


def ca_pem(ca) -> str:
    return _pem(ca[1])


def manifest(source_type: str | None = AI_SOURCE, generator: str = "unmask-test-diffusion",
             action: str = "c2pa.created", agent: str = "TestDiffusion 1.0") -> dict:
    act = {"action": action, "softwareAgent": {"name": agent}}
    if source_type:
        act["digitalSourceType"] = source_type
    return {"claim_generator_info": [{"name": generator, "version": "1.0"}], "title": "asset",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [act]}}]}


def sign(data: bytes, mime: str, signer_info, manifest_json: dict, ingredient: bytes | None = None) -> bytes:
    """Embed a signed manifest (no thumbnail, no timestamp authority: fully offline)."""
    import c2pa

    context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    out = io.BytesIO()
    with c2pa.Builder(manifest_json, context=context) as builder:
        if ingredient is not None:
            builder.add_ingredient({"title": "parent", "relationship": "parentOf", "label": "parent"},
                                   mime, io.BytesIO(ingredient))
        builder.sign(c2pa.Signer.from_info(signer_info), mime, io.BytesIO(data), out)
    return out.getvalue()


# -------------------------------------------------------------------------------------------- encoders


def jpeg_bytes(rgb: np.ndarray, quality: int | None = 90, exif: bytes | None = None, **kwargs) -> bytes:
    """Pillow JPEG; with quality=None and qtables=..., the tables are written as given (not rescaled)."""
    buf = io.BytesIO()
    if quality is not None:
        kwargs["quality"] = quality
    Image.fromarray(rgb).save(buf, format="JPEG", **({"exif": exif} if exif else {}), **kwargs)
    return buf.getvalue()


def png_bytes(rgb: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def insert_png_chunk(png: bytes, chunk: bytes) -> bytes:
    """Insert a raw chunk right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    return png[:33] + chunk + png[33:]


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_jpeg_segment(jpeg: bytes, segment: bytes) -> bytes:
    return jpeg[:2] + segment + jpeg[2:]


def jpeg_app_segments(jpeg: bytes, marker: int) -> list[bytes]:
    """The complete APPn segments with `marker` from the header of `jpeg`."""
    out, pos = [], 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and jpeg[pos + 1] != 0xDA:
        length = struct.unpack(">H", jpeg[pos + 2: pos + 4])[0]
        if jpeg[pos + 1] == marker:
            out.append(jpeg[pos: pos + 2 + length])
        pos += 2 + length
    return out


# ------------------------------------------------------------------------------------------------ EXIF

_TYPES = {"ascii": 2, "short": 3, "long": 4, "undefined": 7}
_SIZES = {2: 1, 3: 2, 4: 4, 7: 1}


def _entries(tags: dict[int, tuple[str, object]]) -> list[tuple[int, int, int, bytes]]:
    out = []
    for tag, (kind, value) in sorted(tags.items()):
        t = _TYPES[kind]
        if t == 2:
            raw = str(value).encode("latin-1", "replace") + b"\x00"
        elif t == 7:
            raw = bytes(value)
        else:
            fmt = "<H" if t == 3 else "<I"
            raw = b"".join(struct.pack(fmt, v) for v in (value if isinstance(value, list | tuple) else [value]))
        out.append((tag, t, len(raw) // _SIZES[t], raw))
    return out


def _ifd(tags: dict[int, tuple[str, object]], start: int, next_ifd: int) -> tuple[bytes, bytes]:
    """(IFD bytes, its out-of-line data) for an IFD at offset `start` whose data follows it."""
    entries = _entries(tags)
    data_at = start + 2 + 12 * len(entries) + 4
    head, data = struct.pack("<H", len(entries)), b""
    for tag, t, count, raw in entries:
        if len(raw) <= 4:
            head += struct.pack("<HHI", tag, t, count) + raw.ljust(4, b"\x00")
        else:
            head += struct.pack("<HHII", tag, t, count, data_at + len(data))
            data += raw + (b"\x00" if len(raw) % 2 else b"")
    return head + struct.pack("<I", next_ifd), data


def _ifd_size(tags: dict) -> int:
    entries = _entries(tags)
    return 2 + 12 * len(entries) + 4 + sum(len(r) + len(r) % 2 for *_, r in entries if len(r) > 4)


def build_exif(ifd0: dict[int, tuple[str, object]], exif_ifd: dict[int, tuple[str, object]] | None = None,
               thumbnail: bytes | None = None) -> bytes:
    """'Exif\\0\\0' + a little-endian TIFF with IFD0, an Exif sub-IFD and an IFD1 JPEG thumbnail."""
    ifd0 = dict(ifd0)
    exif_ifd = dict(exif_ifd or {})
    if exif_ifd:
        ifd0[0x8769] = ("long", 0)
    size0 = _ifd_size(ifd0)
    exif_at = 8 + size0
    if exif_ifd:
        ifd0[0x8769] = ("long", exif_at)
    size_exif = _ifd_size(exif_ifd) if exif_ifd else 0
    ifd1_at = exif_at + size_exif if thumbnail else 0
    ifd1 = {0x0103: ("short", 6), 0x0201: ("long", 0), 0x0202: ("long", len(thumbnail or b""))}
    if thumbnail:
        ifd1[0x0201] = ("long", ifd1_at + _ifd_size(ifd1))
    blob0 = b"".join(_ifd(ifd0, 8, ifd1_at))
    blob = b"II*\x00" + struct.pack("<I", 8) + blob0
    if exif_ifd:
        blob += b"".join(_ifd(exif_ifd, exif_at, 0))
    if thumbnail:
        blob += b"".join(_ifd(ifd1, ifd1_at, 0)) + thumbnail
    return b"Exif\x00\x00" + blob


def user_comment_unicode(text: str) -> bytes:
    """EXIF UserComment as AUTOMATIC1111 writes it (piexif 'unicode': UTF-16BE after 'UNICODE\\0')."""
    return b"UNICODE\x00" + text.encode("utf-16-be")
