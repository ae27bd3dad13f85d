"""Walk a JPEG's marker segments up to the first scan and name the software traces they carry.

Application segments are signatures of the writer: APP0 'JFIF' (most libraries), APP1 'Exif' (cameras,
phones, editors that keep EXIF), APP13 'Photoshop 3.0' (Adobe image resources), APP14 'Adobe' (Adobe's
colour-transform marker, also written by some other encoders), APP11 JUMBF (C2PA), COM comments
('CREATOR: gd-jpeg', 'Lavc', ...). Huffman tables equal to the Annex K example tables are what cameras
and libjpeg write by default; other tables were optimised for the image (mozjpeg, jpegtran -optimize,
progressive encoders). The walk is bounded and stops at SOS or the first malformed length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_SEGMENTS = 512
APP_SIGNATURES = {
    (0xE0, b"JFIF\x00"): "JFIF", (0xE0, b"JFXX\x00"): "JFIF extension", (0xE1, b"Exif\x00"): "Exif",
    (0xE1, b"http://ns.adobe.com/xap/1.0/"): "XMP", (0xE1, b"http://ns.adobe.com/xmp/extension/"): "XMP extension",
    (0xE2, b"ICC_PROFILE\x00"): "ICC profile", (0xE2, b"MPF\x00"): "MPF (multi-picture)",
    (0xEB, b"JP"): "JUMBF (C2PA or JPEG XT)", (0xED, b"Photoshop 3.0\x00"): "Photoshop image resources",
    (0xEE, b"Adobe"): "Adobe marker", (0xEC, b"Ducky"): "Photoshop 'Save for Web' (Ducky)",
}
# Annex K.3 typical Huffman tables: (class, id) -> the 16 code-length counts.
STANDARD_HUFFMAN_COUNTS = {
    (0, 0): bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
    (0, 1): bytes([0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]),
    (1, 0): bytes([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]),
    (1, 1): bytes([0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77]),
}


@dataclass
class JpegMarkers:
    """What the header segments say about the writer."""

    apps: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    huffman_standard: bool | None = None  # None when no DHT was seen (e.g. arithmetic coding)
    progressive: bool = False
    restart_interval: int = 0
    error: str | None = None


def _dht_standard(payload: bytes) -> bool:
    """True when every table in a DHT segment has the Annex K code-length counts for its slot."""
    pos, ok = 0, True
    while pos + 17 <= len(payload):
        tc_th, counts = payload[pos], payload[pos + 1: pos + 17]
        ok &= STANDARD_HUFFMAN_COUNTS.get((tc_th >> 4, tc_th & 0x0F)) == counts
        pos += 17 + sum(counts)
    return ok


def read_markers(data: bytes) -> JpegMarkers:
    out = JpegMarkers()
    if not data.startswith(b"\xff\xd8"):
        out.error = "not a JPEG stream"
        return out
    pos, huff = 2, []
    for _ in range(MAX_SEGMENTS):
        while pos < len(data) and data[pos] == 0xFF and pos + 1 < len(data) and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 4 > len(data) or data[pos] != 0xFF:
            out.error = "marker structure ends before the image data"
            break
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2: pos + 4], "big")
        if marker == 0xDA or length < 2 or pos + 2 + length > len(data):
            out.error = None if marker == 0xDA else "a segment length runs past the end of the file"
            break
        payload = data[pos + 4: pos + 2 + length]
        if 0xE0 <= marker <= 0xEF:
            name = next((v for (m, sig), v in APP_SIGNATURES.items() if m == marker and payload.startswith(sig)),
                        f"APP{marker - 0xE0}")
            out.apps.append(name)
        elif marker == 0xFE:
            out.comments.append(payload[:300].decode("latin-1").strip("\x00 \r\n"))
        elif marker == 0xC4:
            huff.append(_dht_standard(payload))
        elif marker in (0xC2, 0xC6, 0xCA, 0xCE):
            out.progressive = True
        elif marker == 0xDD and length >= 4:
            out.restart_interval = int.from_bytes(payload[:2], "big")
        pos += 2 + length
    out.huffman_standard = all(huff) if huff else None
    return out
