"""How the hub speaks of prescriptions: each status in words, a script as the workstation and
as the patient's page see it, the checks' findings, and who fixes what a provider cannot."""

from __future__ import annotations

from typing import Any

from workstation.core.prescribing import (
    CANCELLABLE,
    WITHDRAWABLE,
    Finding,
    PrescriptionRecord,
    RxStatus,
)

STATUS_WORDS = {
    RxStatus.QUEUED: "Queued",
    RxStatus.SENT: "Sent",
    RxStatus.ACCEPTED: "Accepted by the pharmacy",
    RxStatus.ERROR: "Not sent",
    RxStatus.CANCELLING: "Cancel requested",
    RxStatus.CANCELLED: "Cancelled by the pharmacy",
    RxStatus.CANCEL_FAILED: "Cancel refused",
    RxStatus.WITHDRAWN: "Withdrawn before sending",
}

def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [{"kind": f.kind, "severity": f.severity, "message": f.message} for f in findings]


def record_json(record: PrescriptionRecord, pharmacy_name: str) -> dict[str, Any]:
    c = record.content
    return {
        "id": record.id, "visit_id": record.visit_id, "drug": c.get("description", ""),
        "rxcui": c.get("rxcui", ""), "sig_text": c.get("sig_text", ""),
        "quantity": c.get("quantity", ""), "quantity_unit": c.get("quantity_unit", ""),
        "days_supply": c.get("days_supply"), "refills": c.get("refills"),
        "substitution_allowed": c.get("substitution_allowed", True),
        "note": c.get("note", ""),
        "pharmacy": {"ncpdp_id": record.pharmacy_ncpdp_id, "name": pharmacy_name},
        "status": record.status.value, "status_text": STATUS_WORDS[record.status],
        "revision": record.revision,
        "reason": record.status_reason,
        "cancellable": record.status in CANCELLABLE or record.status in WITHDRAWABLE,
        "created_at": record.created_at.isoformat(), "updated_at": record.updated_at.isoformat(),
    }


def who_fixes(problems: list[Any], *, embedded: bool = False) -> list[str]:
    """What to do about missing fields the provider cannot fill in the chart. On the
    workstation's own hub (``embedded``) the provider is IT: the first account sets the NPI and
    the practice details in Settings > Practice; on a clinic's hub IT sets them."""
    labels = {p.label for p in problems}
    hints = []
    if labels & {"prescriber NPI", "from (prescriber NPI)"}:
        hints.append("Your NPI is kept with your provider account: set it in Settings > "
                     "Practice." if embedded else
                     "Your NPI is kept with your provider account: ask IT to add it.")
    if any(label.startswith("prescriber ") and "NPI" not in label for label in labels):
        hints.append("The practice address and phone are missing: set them in Settings > "
                     "Practice." if embedded else
                     "The practice address and phone come from the site settings "
                     "(clinic_address, clinic_phone): ask IT to set them.")
    if any(label.startswith("patient ") for label in labels):
        hints.append("Confirm the missing patient details by phone and correct the record "
                     "before sending.")
    return hints


def patient_json(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("id", "drug", "sig_text", "pharmacy", "status",
                                       "status_text", "revision")}
