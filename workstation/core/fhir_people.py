"""Who and where, as FHIR R4 (R4B) resources: the patient, the practitioner, the pharmacy."""

from __future__ import annotations

from dataclasses import dataclass

from fhir.resources.R4B.address import Address as FhirAddress
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner

from workstation.core.people import Patient, Provider, Sex

NPI = "http://hl7.org/fhir/sid/us-npi"
NCPDP = "http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber"

GENDER = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other", Sex.UNKNOWN: "unknown"}


@dataclass(frozen=True)
class PharmacyRef:
    """The pharmacy the patient chose."""

    ncpdp_id: str
    npi: str
    name: str
    phone: str
    address_line: str
    city: str
    state: str
    postal_code: str


def nonblank(value: str) -> str | None:
    """``value`` as typed, or None when blank (FHIR has no empty strings)."""
    return value if value.strip() else None


def fhir_address(line1: str, line2: str, city: str, state: str, postal_code: str) -> FhirAddress:
    lines: list[str | None] = [line for line in (line1, line2) if line.strip()]
    return FhirAddress(line=lines or None, city=nonblank(city), state=nonblank(state),
                       postalCode=nonblank(postal_code))


def phone_email(phone: str, email: str = "") -> list[ContactPoint] | None:
    points = [ContactPoint(system=system, value=value)
              for system, value in (("phone", phone), ("email", email)) if value.strip()]
    return points or None


def patient_resource(patient: Patient) -> FhirPatient:
    home = patient.address
    return FhirPatient(
        identifier=[Identifier(value=patient.id)],
        name=[HumanName(family=nonblank(patient.family_name),
                        given=[patient.given_name] if patient.given_name.strip() else None)],
        gender=GENDER[patient.sex],
        birthDate=patient.date_of_birth,
        telecom=phone_email(patient.phone, patient.email),
        address=[fhir_address(home.line1, home.line2, home.city, home.state, home.postal_code)]
        if home else None,
    )


def practitioner_resource(provider: Provider) -> Practitioner:
    return Practitioner(
        identifier=[Identifier(system=NPI, value=provider.npi)] if provider.npi.strip() else None,
        name=[HumanName(text=provider.display_name)],
    )


def pharmacy_resource(pharmacy: PharmacyRef) -> Organization:
    identifiers = [Identifier(system=system, value=value)
                   for system, value in ((NCPDP, pharmacy.ncpdp_id), (NPI, pharmacy.npi))
                   if value.strip()]
    return Organization(
        identifier=identifiers or None,
        type=[CodeableConcept(text="Pharmacy")],
        name=nonblank(pharmacy.name),
        telecom=phone_email(pharmacy.phone),
        address=[fhir_address(pharmacy.address_line, "", pharmacy.city, pharmacy.state,
                          pharmacy.postal_code)],
    )
