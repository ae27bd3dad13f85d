"""Read a C2PA (Content Credentials) manifest store with c2pa-python, the binding of the reference c2pa-rs
validator, and reduce it to what an analyst needs: validation state, signer, claim generator, actions,
IPTC digital source types (of the asset and of its ingredients) and the failure codes.

The validator checks the claim signature, the certificate chain against the trust anchors given (none by
default: every signer is then "untrusted", which is not the same as "invalid"), and the hard binding (a
hash of the asset bytes outside the manifest). Reading is offline: remote manifests and OCSP are not
fetched. Every c2pa error is caught; broken JUMBF becomes an "unreadable" result, never an exception.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnmaskError
from .iptc import source_type_code

MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tiff": "image/tiff", "gif": "image/gif",
        "heic": "image/heic", "avif": "image/avif", "bmp": "image/bmp"}
TAMPER_CODES = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch",
                "assertion.collectionHash.mismatch")
SIGNATURE_CODES = ("claimSignature.mismatch", "claimSignature.missing", "signingCredential.invalid",
                   "signingCredential.revoked", "assertion.hashedURI.mismatch", "assertion.missing",
                   "claim.missing", "timeStamp.mismatch")
UNTRUSTED = "signingCredential.untrusted"
_JUMBF_C2PA = re.compile(rb"jumd.{0,24}c2pa", re.S)
MAX_DEPTH = 16


class TrustConfigError(UnmaskError):
    """The trust anchors given for C2PA validation could not be used."""

    code = "c2pa_trust_config"


def has_c2pa_marker(data: bytes) -> bool:
    """Cheap sniff: a JUMBF description box labelled 'c2pa' or a PNG 'caBX' chunk is present."""
    return b"caBX" in data or _JUMBF_C2PA.search(data) is not None


@dataclass
class Action:
    action: str
    agent: str | None = None
    source_type: str | None = None


@dataclass
class Manifest:
    """One manifest's claims (not yet judged): who signed, with what, what it says happened."""

    label: str
    title: str | None = None
    generator: str | None = None
    signer: str | None = None
    issuer: str | None = None
    signed_at: str | None = None
    actions: list[Action] = field(default_factory=list)
    source_types: list[str] = field(default_factory=list)
    ingredients: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class C2paStore:
    """A manifest store as validated: state 'Trusted' | 'Valid' | 'Invalid', and the failure codes."""

    state: str
    active: Manifest | None
    manifests: dict[str, Manifest]
    failures: list[tuple[str, str]]

    @property
    def codes(self) -> set[str]:
        return {code for code, _ in self.failures}

    @property
    def tampered(self) -> bool:
        return bool(self.codes & set(TAMPER_CODES))

    @property
    def signature_invalid(self) -> bool:
        return bool(self.codes & set(SIGNATURE_CODES))

    @property
    def untrusted(self) -> bool:
        return UNTRUSTED in self.codes or self.state != "Trusted"

    def lineage_source_types(self) -> list[tuple[str, str]]:
        """(manifest title or label, source type) for the active manifest and, recursively, its ingredients."""
        out: list[tuple[str, str]] = []
        seen: set[str] = set()

        def visit(m: Manifest | None, depth: int) -> None:
            if m is None or m.label in seen or depth > MAX_DEPTH:
                return
            seen.add(m.label)
            out.extend((m.title or m.label, t) for t in m.source_types)
            for ing in m.ingredients:
                visit(self.manifests.get(str(ing.get("manifest") or "")), depth + 1)

        visit(self.active, 0)
        return out


def _find_source_types(obj: Any, out: list[str], depth: int = 0) -> None:
    """Collect digitalSourceType values anywhere in an assertion (actions, IPTC, schema.org)."""
    if depth > 12:
        return
    if isinstance(obj, dict):
        for key, value in list(obj.items())[:500]:
            if "digitalsourcetype" in str(key).lower() and isinstance(value, str):
                out.append(source_type_code(value))
            else:
                _find_source_types(value, out, depth + 1)
    elif isinstance(obj, list):
        for value in obj[:500]:
            _find_source_types(value, out, depth + 1)


def _agent(value: Any) -> str | None:
    if isinstance(value, dict):
        parts = [str(value.get("name", "")), str(value.get("version", ""))]
        return " ".join(p for p in parts if p)[:200] or None
    return str(value)[:200] if value else None


def _generator(raw: dict) -> str | None:
    info = raw.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict):
        return _agent(info[0])
    return str(raw.get("claim_generator"))[:200] if raw.get("claim_generator") else None


def _manifest(label: str, raw: dict) -> Manifest:
    sig = raw.get("signature_info") if isinstance(raw.get("signature_info"), dict) else {}
    m = Manifest(label=label, title=raw.get("title"), generator=_generator(raw), signer=sig.get("common_name"),
                 issuer=sig.get("issuer"), signed_at=sig.get("time"))
    for assertion in raw.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        data = assertion.get("data")
        if str(assertion.get("label", "")).startswith("c2pa.actions") and isinstance(data, dict):
            for a in (data.get("actions") or [])[:200]:
                if isinstance(a, dict):
                    m.actions.append(Action(str(a.get("action", ""))[:100], _agent(a.get("softwareAgent")),
                                            source_type_code(a["digitalSourceType"]) if a.get("digitalSourceType") else None))
        _find_source_types(data, m.source_types)
    m.source_types = list(dict.fromkeys(m.source_types))
    for ing in (raw.get("ingredients") or [])[:100]:
        if isinstance(ing, dict):
            m.ingredients.append({"title": ing.get("title"), "relationship": ing.get("relationship"),
                                  "manifest": ing.get("active_manifest"),
                                  "failures": [f.get("code") for f in _failures(ing.get("validation_results"))]})
    return m


def _failures(results: Any) -> list[dict]:
    if not isinstance(results, dict):
        return []
    active = results.get("activeManifest") if isinstance(results.get("activeManifest"), dict) else {}
    return [f for f in active.get("failure") or [] if isinstance(f, dict)]


def parse_store(store: dict) -> C2paStore:
    """Reduce the reader's JSON (`Reader.json()`) to a C2paStore."""
    raw = store.get("manifests") if isinstance(store.get("manifests"), dict) else {}
    manifests = {str(k): _manifest(str(k), v) for k, v in list(raw.items())[:200] if isinstance(v, dict)}
    failures = [(str(f.get("code")), str(f.get("explanation", ""))[:300]) for f in _failures(store.get("validation_results"))]
    if not failures:  # older readers only give the flat list
        failures = [(str(f.get("code")), str(f.get("explanation", ""))[:300])
                    for f in store.get("validation_status") or [] if isinstance(f, dict)]
    state = str(store.get("validation_state") or ("Invalid" if set(c for c, _ in failures) - {UNTRUSTED} else "Valid"))
    return C2paStore(state, manifests.get(str(store.get("active_manifest"))), manifests, failures)


def _context(trust_anchors: str | None) -> Any:
    import c2pa

    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    try:
        return c2pa.Context(c2pa.Settings.from_dict(settings))
    except Exception as exc:
        raise TrustConfigError(f"the C2PA trust anchors could not be loaded: {exc}") from exc


@dataclass
class ReadResult:
    """'absent' (no C2PA data), 'read' (with `store`) or 'unreadable' (with `error`)."""

    status: str
    store: C2paStore | None = None
    error: str | None = None


def read(data: bytes, fmt: str, trust_anchors: str | None = None) -> ReadResult:
    """Validate the manifest store embedded in `data`; never raises for bad input (only for bad anchors)."""
    if not has_c2pa_marker(data):
        return ReadResult("absent")
    import c2pa

    context = _context(trust_anchors)
    try:
        reader = c2pa.Reader.try_create(MIME.get(fmt), io.BytesIO(data), None, context)
        if reader is None:
            return ReadResult("unreadable", error="a C2PA marker is present but no manifest store could be found")
        with reader:
            return ReadResult("read", parse_store(json.loads(reader.json())))
    except Exception as exc:  # c2pa raises its own error classes; any failure is 'unreadable'
        return ReadResult("unreadable", error=f"{type(exc).__name__.lstrip('_')}: {str(exc)[:300]}")


def validate_anchors(trust_anchors: str) -> int:
    """Check a PEM bundle now (not on the first file): the number of certificates, or TrustConfigError."""
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(trust_anchors.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise TrustConfigError(f"the C2PA trust anchors could not be loaded: {exc}") from exc
    _context(trust_anchors)
    return len(certs)
