"""Validates Content Credentials (C2PA manifests) embedded in the file and states what they claim.

Method: the C2PA Technical Specification's validation as implemented by c2pa-rs (through c2pa-python):
claim signature, certificate chain against trust anchors, and the hard binding (hash of the asset bytes
outside the manifest); then the active manifest's claim generator, actions, IPTC digital source types and
ingredients (recursively) are read (`unmask.provenance.c2pa_store`).

Trust anchors: PEM certificates given to the constructor (text or a path) or in the file named by the
environment variable UNMASK_C2PA_TRUST_ANCHORS; without any, no signer is "trusted" and a valid signature
only proves the file has not changed since someone signed it.

Limits: a manifest is easily stripped (most platforms do), so absence proves nothing; a valid signature
from an untrusted signer proves integrity, not identity; the claims are the signer's statements.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...media import ImageMedia
from ...provenance import c2pa_store, iptc, xmp
from ..base import Detector
from ..evidence import Evidence, ProvenanceFact

ENV_TRUST = "UNMASK_C2PA_TRUST_ANCHORS"


def load_anchors(value: str | os.PathLike | None) -> str | None:
    """PEM text from a PEM string or a path (None stays None)."""
    if value is None:
        return None
    text = str(value)
    if "-----BEGIN" in text:
        return text
    try:
        return Path(text).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise c2pa_store.TrustConfigError(f"the C2PA trust anchor file {text!r} could not be read: {exc}") from exc


@dataclass
class C2paOutcome:
    """Native output: the read result plus a remote-manifest reference found in XMP."""

    result: c2pa_store.ReadResult
    remote_url: str | None = None


class C2paManifest(Detector):
    name = "c2pa"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "facts", "attribution")
    extra = "provenance"
    requires = ("c2pa",)
    profiles = ("fast", "default", "thorough")
    paper = "C2PA Technical Specification 2.x (c2pa-rs validator); IPTC Digital Source Type vocabulary"
    description = "Validates embedded Content Credentials (C2PA): signer, trust, edits after signing, AI source type."

    def __init__(self, trust_anchors: str | os.PathLike | None = None) -> None:
        self.trust_anchors = load_anchors(trust_anchors if trust_anchors is not None else os.environ.get(ENV_TRUST) or None)
        if self.trust_anchors:
            c2pa_store.validate_anchors(self.trust_anchors)

    def predict(self, media: ImageMedia) -> C2paOutcome:
        remote = xmp.parse_xmp(media.xmp).first("dcterms:provenance") if media.xmp and "provenance" in media.xmp else None
        return C2paOutcome(c2pa_store.read(media.data, media.format, self.trust_anchors), remote)

    def to_evidence(self, native: C2paOutcome, media: ImageMedia) -> Evidence:
        r = native.result
        remote = [ProvenanceFact(source="c2pa", claim="the file points to remote Content Credentials (not fetched: "
                                 "unmask works offline)", detail=native.remote_url or "")] if native.remote_url else []
        if r.status == "absent":
            return Evidence(score=None, facts=remote, details={"status": "absent", "decisive": False},
                            summary="No Content Credentials (C2PA) in this file; most files have none, so this proves nothing.")
        if r.status == "unreadable" or r.store is None:
            fact = ProvenanceFact(source="c2pa", claim="C2PA data present but unreadable", detail=r.error or "")
            return Evidence(score=None, facts=[fact, *remote], details={"status": "unreadable", "error": r.error,
                                                                       "decisive": False},
                            summary="The file holds Content Credentials data that could not be read or validated.")
        return _judge(r.store, remote)


def _state_fact(s: c2pa_store.C2paStore) -> ProvenanceFact:
    a = s.active
    who = f"signed by {a.signer or 'an unnamed signer'}" + (f" ({a.issuer})" if a and a.issuer else "") if a else ""
    detail = "; ".join(x for x in (who, f"claim generator {a.generator}" if a and a.generator else "",
                                   f"signed at {a.signed_at}" if a and a.signed_at else "") if x)
    if s.tampered:
        return ProvenanceFact(source="c2pa", claim="Content Credentials: the file was changed after it was signed "
                              "(hash mismatch)", detail=detail)
    if s.signature_invalid or s.state == "Invalid":
        codes = ", ".join(sorted(s.codes - {c2pa_store.UNTRUSTED})) or "invalid"
        return ProvenanceFact(source="c2pa", claim=f"Content Credentials are invalid ({codes})", detail=detail)
    if s.state == "Trusted":
        return ProvenanceFact(source="c2pa", claim="Content Credentials: valid signature from a trusted signer",
                              detail=detail)
    return ProvenanceFact(source="c2pa", claim="Content Credentials: valid signature, but the signer is not trusted "
                          "(not in the configured trust anchors; anyone can make such a certificate)", detail=detail)


def _claim_facts(s: c2pa_store.C2paStore) -> list[ProvenanceFact]:
    a, facts = s.active, []
    if a is None:
        return facts
    for code in a.source_types:
        facts.append(ProvenanceFact(source="c2pa", claim=f"the manifest declares digital source type '{code}': "
                                    f"{iptc.describe(code)}"))
    for title, code in s.lineage_source_types()[len(a.source_types):]:
        if code in iptc.AI_GENERATED | iptc.AI_COMPOSITE:
            facts.append(ProvenanceFact(source="c2pa", claim=f"an ingredient ('{title}') declares '{code}': "
                                        f"{iptc.describe(code)}"))
    if a.actions:
        steps = ", ".join(x.action + (f" ({x.agent})" if x.agent else "") for x in a.actions[:12])
        facts.append(ProvenanceFact(source="c2pa", claim=f"recorded actions: {steps}"[:500]))
    return facts


def _classify(s: c2pa_store.C2paStore) -> str:
    here = set(s.active.source_types) if s.active else set()
    lineage = {code for _, code in s.lineage_source_types()}
    if here & iptc.AI_GENERATED:
        return "ai"
    if here & iptc.AI_COMPOSITE:
        return "ai-part"
    if lineage & (iptc.AI_GENERATED | iptc.AI_COMPOSITE):
        return "ai-ingredient"
    edits = [x for x in (s.active.actions if s.active else []) if x.action not in ("c2pa.created", "c2pa.opened")]
    return "capture" if here & iptc.CAPTURE and not edits else "other"


# (kind, trusted) -> score, attribution key; untrusted-but-valid claims weigh less than trusted ones.
_SCORES = {("ai", True): (0.99, "ai-generated"), ("ai", False): (0.9, "ai-generated"),
           ("ai-ingredient", True): (0.9, "ai-generated"), ("ai-ingredient", False): (0.8, "ai-generated"),
           ("ai-part", True): (0.85, "ai-composite"), ("ai-part", False): (0.65, "ai-composite"),
           ("capture", True): (0.05, None)}
_SUMMARIES = {
    "ai": "Signed Content Credentials say this image was created by a generative AI model.",
    "ai-ingredient": "Signed Content Credentials say this image was made from an AI-generated ingredient.",
    "ai-part": "Signed Content Credentials say this image combines AI-generated elements with other material.",
    "capture": "Trusted Content Credentials say this is a camera capture, unchanged since it was signed.",
    "other": "The file carries valid Content Credentials; they record its history but no AI generation.",
}


def _judge(s: c2pa_store.C2paStore, remote: list[ProvenanceFact]) -> Evidence:
    facts = [_state_fact(s), *_claim_facts(s), *remote]
    kind, trusted = _classify(s), s.state == "Trusted"
    details = _details(s, kind)
    if s.tampered or s.signature_invalid or s.state == "Invalid":
        ai = kind in ("ai", "ai-ingredient") and not s.signature_invalid
        summary = ("The file's Content Credentials no longer match it: it was changed after signing"
                   + (", though the signed claim said AI-generated." if ai else ", so they vouch for nothing here."))
        return Evidence(score=0.8 if ai else 0.6, summary=summary, facts=facts, details=details,
                        attribution={"ai-generated": 1.0} if ai else {})
    score, key = _SCORES.get((kind, trusted), (None, None))
    details["decisive"] = trusted and kind == "ai"
    summary = _SUMMARIES[kind] if kind != "capture" or trusted else _SUMMARIES["other"]
    if not trusted and kind != "other":
        summary = summary[:-1] + ", but the signer is not a trusted one."
    return Evidence(score=score, summary=summary, facts=facts, details=details,
                    attribution={key: 1.0} if key else {})


def _details(s: c2pa_store.C2paStore, kind: str) -> dict[str, Any]:
    a = s.active
    return {
        "status": "read", "state": s.state, "kind": kind, "trusted": s.state == "Trusted", "tampered": s.tampered,
        "signature_invalid": s.signature_invalid, "decisive": False,
        "signer": a.signer if a else None, "issuer": a.issuer if a else None,
        "claim_generator": a.generator if a else None, "signed_at": a.signed_at if a else None,
        "source_types": a.source_types if a else [],
        "lineage": [{"manifest": t, "source_type": c} for t, c in s.lineage_source_types()],
        "actions": [{"action": x.action, "agent": x.agent, "source_type": x.source_type} for x in (a.actions if a else [])][:50],
        "ingredients": a.ingredients if a else [],
        "failures": [{"code": c, "explanation": e} for c, e in s.failures][:50],
        "manifests": len(s.manifests),
    }
