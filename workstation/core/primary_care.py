"""The patient's own primary care provider, and the visit summary sent to them.

At check-in (or a scheduled visit's eCheck-in) the patient may name their primary care provider
and allow the summary to be shared. Signing then puts a FHIR R4 document Bundle in an outbox: a
Composition (a summary of the episode) with the patient and the signing provider, its narrative
the after-visit summary as the patient reads it. The document's identifier is the message's, so
a receiver keeps a repeat once.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.composition import Composition, CompositionSection
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.narrative import Narrative
from fhir.resources.R4B.reference import Reference

from workstation.core.fhir_people import patient_resource, practitioner_resource
from workstation.core.people import Patient, Provider

LOINC = "http://loinc.org"
SUMMARY_NOTE = ("34133-9", "Summary of episode note")
MESSAGE_IDS = "urn:ietf:rfc:3986"


@dataclass(frozen=True)
class PrimaryCare:
    """Who the patient's own doctor is, and whether the patient allows sending them the
    summary (``share``)."""

    name: str
    practice: str
    phone: str = ""
    fax: str = ""
    direct_address: str = ""  # a Direct secure-messaging address, when the patient knows it
    share: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> PrimaryCare | None:
        if not data or not str(data.get("name") or "").strip():
            return None
        return cls(name=str(data["name"]).strip(), practice=str(data.get("practice") or ""),
                   phone=str(data.get("phone") or ""), fax=str(data.get("fax") or ""),
                   direct_address=str(data.get("direct_address") or ""),
                   share=data.get("share") is True)

    def as_mapping(self) -> dict[str, Any]:
        return {"name": self.name, "practice": self.practice, "phone": self.phone,
                "fax": self.fax, "direct_address": self.direct_address, "share": self.share}

    @property
    def label(self) -> str:
        """E.g. "Dr. Ana Ruiz, Eastside Family Medicine (fax 512-555-0188)"."""
        reach = "; ".join(f"{k} {v}" for k, v in (("phone", self.phone), ("fax", self.fax),
                                                    ("Direct", self.direct_address)) if v)
        return f"{self.name}, {self.practice}" + (f" ({reach})" if reach else "")


def summary_document(*, message_id: str, patient: Patient, provider: Provider, visit_id: str,
                     summary: str, signed_at: datetime, site_name: str) -> dict[str, Any]:
    """The signed visit's summary as a FHIR R4 document Bundle (JSON-ready data)."""
    if signed_at.tzinfo is None:
        raise ValueError("signed_at needs a time zone")
    patient_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'patient:' + patient.id)}"
    author_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'provider:' + provider.id)}"
    composition_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'summary:' + visit_id)}"
    narrative = Narrative(status="generated", div=(
        '<div xmlns="http://www.w3.org/1999/xhtml"><pre>' + html.escape(summary)
        + "</pre></div>"))
    code, display = SUMMARY_NOTE
    composition = Composition(
        status="final",
        type=CodeableConcept(coding=[Coding(system=LOINC, code=code, display=display)]),
        subject=Reference(reference=patient_url),
        date=signed_at,
        author=[Reference(reference=author_url, display=provider.display_name)],
        title=f"{site_name}: visit summary",
        identifier=Identifier(system=MESSAGE_IDS, value=f"urn:uuid:{visit_id}"),
        section=[CompositionSection(title="After-visit summary", text=narrative)],
    )
    bundle = Bundle(
        type="document",
        identifier=Identifier(system=MESSAGE_IDS, value=f"urn:uuid:{message_id}"),
        timestamp=signed_at,
        entry=[BundleEntry(fullUrl=composition_url, resource=composition),
               BundleEntry(fullUrl=patient_url, resource=patient_resource(patient)),
               BundleEntry(fullUrl=author_url, resource=practitioner_resource(provider))],
    )
    return bundle.model_dump(mode="json")
