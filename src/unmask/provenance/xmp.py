"""A small, defensive reader for XMP packets (ISO 16684-1): properties as flat 'prefix:Name' lists, plus the
xmpMM:History event list. Prefixes are canonical (by namespace URI), not whatever the file declared.

XMP is hostile input: packets with a DOCTYPE or entity declarations are refused outright (no expansion is
ever attempted), the element walk is bounded in depth and count, and values are truncated.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PREFIXES = {
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://cipa.jp/exif/1.0/": "exifEX",
}
MAX_ELEMENTS = 50_000
MAX_DEPTH = 64
MAX_VALUE = 2000
_STRUCT_CONTAINERS = {"Seq", "Bag", "Alt", "li", "Description", "RDF"}


@dataclass
class Xmp:
    """Flat properties ('prefix:Name' -> values in document order) and the editing history events."""

    props: dict[str, list[str]] = field(default_factory=dict)
    history: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None

    def first(self, name: str) -> str | None:
        values = self.props.get(name)
        return values[0] if values else None

    def add(self, name: str, value: str) -> None:
        value = value.strip()
        if value:
            self.props.setdefault(name, []).append(value[:MAX_VALUE])


def _qname(tag: str, declared: dict[str, str]) -> tuple[str, str]:
    """('prefix:Local', namespace) for an ElementTree '{uri}local' tag."""
    if not tag.startswith("{"):
        return tag, ""
    uri, local = tag[1:].split("}", 1)
    prefix = PREFIXES.get(uri) or declared.get(uri) or "ns"
    return f"{prefix}:{local}", uri


class _Walker:
    def __init__(self, out: Xmp, declared: dict[str, str]) -> None:
        self.out, self.declared, self.count = out, declared, 0

    def walk(self, el: ET.Element, prop: str | None, depth: int) -> None:
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_ELEMENTS:
            raise ValueError("XMP packet is nested too deeply or has too many elements")
        name, uri = _qname(el.tag, self.declared)
        local = name.split(":", 1)[-1]
        is_container = uri == RDF and local in _STRUCT_CONTAINERS
        target = prop if is_container else name
        attrs = {}
        for key, value in el.attrib.items():
            aname, auri = _qname(key, self.declared)
            if auri != RDF:
                attrs[aname] = value[:MAX_VALUE]
                self.out.add(aname, value)
        if prop == "xmpMM:History" and uri == RDF and local in ("li", "Description") and attrs:
            self.out.history.append({k.split(":", 1)[-1]: v for k, v in attrs.items()})
        if el.text and len(el) == 0 and target:
            self.out.add(target, el.text)
        for child in el:
            self.walk(child, target, depth + 1)
        if prop == "xmpMM:History" and uri == RDF and local == "li" and not attrs and len(el):
            event = {}
            for sub in el.iter():
                sname, suri = _qname(sub.tag, self.declared)
                if suri != RDF and sub.text and sub.text.strip():
                    event[sname.split(":", 1)[-1]] = sub.text.strip()[:MAX_VALUE]
            if event:
                self.out.history.append(event)


def _declared_prefixes(text: str) -> dict[str, str]:
    return {uri: prefix for prefix, uri in re.findall(r'xmlns:([\w.-]+)\s*=\s*["\']([^"\']+)["\']', text[:200_000])}


def parse_xmp(text: str | None) -> Xmp:
    """Parse an XMP packet; failures are recorded in `.error`, never raised."""
    out = Xmp()
    if not text:
        return out
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.I):
        out.error = "XMP packet declares a DOCTYPE or entities; refused"
        return out
    start = text.find("<")
    try:
        root = ET.fromstring(text[start:].rstrip("\x00 \r\n\t") if start >= 0 else "")
        _Walker(out, _declared_prefixes(text)).walk(root, None, 0)
    except (ET.ParseError, ValueError, RecursionError) as exc:
        out.error = f"XMP packet could not be parsed: {str(exc)[:200]}"
        _regex_fallback(text, out)
    return out


_FALLBACK_FIELDS = ("CreatorTool", "DigitalSourceType", "softwareAgent", "CreateDate", "ModifyDate")


def _regex_fallback(text: str, out: Xmp) -> None:
    """Pull the few fields that matter most out of a malformed packet (attribute or element form)."""
    for local in _FALLBACK_FIELDS:
        pattern = rf"[\w-]+:{local}\s*=\s*[\"']([^\"'<]{{1,500}})[\"']|<[\w-]+:{local}>([^<]{{1,500}})<"
        for a, b in re.findall(pattern, text[:2_000_000]):
            prefix = {"CreatorTool": "xmp", "DigitalSourceType": "Iptc4xmpExt", "softwareAgent": "stEvt"}.get(local, "xmp")
            out.add(f"{prefix}:{local}", a or b)
