"""Request bodies of the JSON API. Validation and the OpenAPI schemas both come from here."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from workstation.core.people import Address, Patient, Sex
from workstation.core.practice import Practice, npi_problem
from workstation.hub.text_rules import one_line, person_name, several_lines

# Every text field carries one of these (see text_rules): no control characters; a line break
# and a tab only in text of several lines; nothing invisible in a person's name.
ONE_LINE = AfterValidator(one_line)
SEVERAL_LINES = AfterValidator(several_lines)
PERSON_NAME = AfterValidator(person_name)

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
                      ONE_LINE]
OptionalShort = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), ONE_LINE]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
                       PERSON_NAME]
LongText = Annotated[str, StringConstraints(max_length=4000), SEVERAL_LINES]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=7, max_length=25,
                      pattern=r"^[0-9+()\-. ]+$"),
]
StateCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                             pattern=r"^[A-Za-z]{2}$")]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True,
                                              pattern=r"^[0-9]{5}(-[0-9]{4})?$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Dates and times are ISO 8601 text (a number is not taken for a date), between these years:
# nothing then overflows when a time zone or a duration is added.
FIRST_YEAR = 1900
LAST_YEAR = 2100
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}.*", re.DOTALL)
TIME_HINT = "Enter the date and time with its UTC offset, e.g. 2026-11-24T15:00:00-06:00."


def _date_text(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("Enter the date as YYYY-MM-DD.")


def _time_text(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.fullmatch(value)):
        return value
    raise ValueError(TIME_HINT)


def year_problem(year: int) -> str | None:
    """Why a date in this year is refused; None when it is taken."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        return None
    return f"Give a date between {FIRST_YEAR} and {LAST_YEAR}."


def _born(value: date) -> date:
    if value.year < FIRST_YEAR:
        raise ValueError(f"Enter a date of birth after {FIRST_YEAR}.")
    if value.year > LAST_YEAR:
        raise ValueError("Enter a date of birth in the past.")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("Give the time with its UTC offset, e.g. 2026-11-24T15:00:00-06:00.")
    problem = year_problem(value.year)
    if problem is not None:
        raise ValueError(problem)
    return value


DateOfBirth = Annotated[date, BeforeValidator(_date_text), AfterValidator(_born)]
# A time given with its UTC offset.
AwareTime = Annotated[datetime, BeforeValidator(_time_text), AfterValidator(_aware)]


class AddressIn(Strict):
    line1: ShortText
    line2: OptionalShort = ""
    city: ShortText
    state: StateCode
    postal_code: PostalCode


class PatientIn(Strict):
    given_name: PersonName
    family_name: PersonName
    date_of_birth: DateOfBirth
    sex: Literal["female", "male", "other", "unknown"]
    phone: Phone
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                            pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                     ONE_LINE] = ""
    address: AddressIn

    def to_patient(self) -> Patient:
        """A new patient (a new id) with these details."""
        a = self.address
        return Patient(
            id=str(uuid.uuid4()), given_name=self.given_name, family_name=self.family_name,
            date_of_birth=self.date_of_birth, sex=Sex(self.sex), phone=self.phone,
            email=self.email, address=Address(a.line1, a.city, a.state, a.postal_code, a.line2),
        )


class CardIn(Strict):
    """The card as typed (the embedded and simulated processors), or, where the clinic takes
    cards through Stripe, the id its element made of the card and the last four digits."""

    method: Literal["card", "hsa"]
    number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)] = ""
    expiry_month: int | None = Field(None, ge=1, le=12)
    expiry_year: int | None = Field(None, ge=2000, le=2100)
    holder: PersonName
    payment_method: Annotated[str, StringConstraints(
        pattern=r"^pm_[A-Za-z0-9_]{1,200}$")] | None = None
    last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] | None = None

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        digits = value.replace(" ", "").replace("-", "")
        if not (digits.isascii() and digits.isdigit()) and digits:
            raise ValueError("The card number may contain digits, spaces and dashes only.")
        return digits

    @model_validator(mode="after")
    def _one_kind(self) -> CardIn:
        if self.payment_method is not None:
            if self.number:
                raise ValueError("Send the card's number or the payment box's card, not both.")
            if self.last4 is None:
                raise ValueError("The card's last four digits are needed with its id.")
        elif not self.number or self.expiry_month is None or self.expiry_year is None:
            raise ValueError("Enter the card number and its expiry date.")
        return self


RedFlags = dict[Annotated[str, ONE_LINE], bool]


class EligibilityIn(Strict):
    date_of_birth: DateOfBirth
    condition: ShortText
    red_flags: RedFlags


OptionalPhone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=25, pattern=r"^([0-9+()\-. ]{7,25})?$"),
]


class PrimaryCareIn(Strict):
    """The patient's own doctor, and whether the visit's summary may be sent to them."""

    name: PersonName
    practice: ShortText
    phone: OptionalPhone = ""
    fax: OptionalPhone = ""
    # A Direct secure-messaging address (looks like an email address), when known.
    direct_address: Annotated[str, StringConstraints(
        strip_whitespace=True, max_length=254, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$"),
        ONE_LINE] = ""
    share: bool = False

    @model_validator(mode="after")
    def _reachable(self) -> PrimaryCareIn:
        if not self.phone and not self.fax:
            raise ValueError("Give the practice's phone or fax number.")
        return self


class CheckInIn(Strict):
    patient: PatientIn
    condition: ShortText
    mode: Literal["video", "e_visit"] = "video"
    symptoms: Annotated[str, StringConstraints(min_length=1, max_length=4000), SEVERAL_LINES]
    onset: Annotated[str, StringConstraints(min_length=1, max_length=200), ONE_LINE]
    allergies: LongText = ""
    medications: LongText = ""
    red_flags: RedFlags
    consent_telehealth: bool
    callback_phone: Phone
    pharmacy_id: ShortText
    location_state: StateCode
    payment: CardIn | None = None  # absent only where the clinic takes no fee online
    primary_care: PrimaryCareIn | None = None
    # Made by the page once per check-in and sent again with each retry: one visit, one charge.
    idempotency_key: Annotated[str, StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")] | None = None

    @field_validator("consent_telehealth")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if not value:
            raise ValueError("Consent to the limits of video care is needed to continue.")
        return value


class FormsIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=4000), SEVERAL_LINES]
    allergies: LongText = ""
    medications: LongText = ""
    # Where prescriptions go (an NCPDP ID from /api/pharmacies); required for a new eCheck-in.
    pharmacy_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20),
                           ONE_LINE] = ""
    primary_care: PrimaryCareIn | None = None


class InsuranceIn(Strict):
    payer: ShortText
    member_id: ShortText
    group_number: OptionalShort = ""
    subscriber_name: PersonName


class ECheckInIn(Strict):
    forms: FormsIn
    insurance: InsuranceIn
    copay: CardIn | None = None


class VerifyPasswordIn(Strict):
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class SignInIn(Strict):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=80), ONE_LINE]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    remember: bool = False
    # The second factor, when the account or the site asks for one: the 6 digits of the
    # provider's authenticator app, or a break-glass code from IT.
    code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40),
                    ONE_LINE] | None = None


class RefreshIn(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=20, max_length=100)]


class SignOutIn(Strict):
    refresh_token: Annotated[str, StringConstraints(max_length=100)] | None = None


class FirstProviderIn(Strict):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                               max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")]
    display_name: PersonName
    password: Annotated[str, StringConstraints(min_length=10, max_length=256)]
    service_lines: list[ShortText] = Field(min_length=1)


class ClaimNextIn(Strict):
    service_line: ShortText | None = None
    e_visit: bool = False  # the next E-Visit instead of the next video visit


class CallEventIn(Strict):
    """What happened to the video call of a visit, as the provider's workstation saw it."""

    event: Literal["started", "interrupted", "resumed", "ended"]


# A service line's or a condition's code, as a visit keeps it (in 40 characters).
VisitCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
                      ONE_LINE]


class AppointmentIn(Strict):
    patient: PatientIn
    service_line: VisitCode
    condition: VisitCode
    scheduled_for: AwareTime
    copay: Decimal = Field(default=Decimal("0"), ge=0, le=10000, decimal_places=2)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (EligibilityIn, CheckInIn, ECheckInIn, SignInIn, FirstProviderIn, ClaimNextIn,
              AppointmentIn, CallEventIn)
}


# -- the provider's documentation ---------------------------------------------------------------

NoteText = Annotated[str, StringConstraints(max_length=10_000), SEVERAL_LINES]


class DiagnosisItemIn(Strict):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=10),
                    ONE_LINE]
    description: Annotated[str, StringConstraints(max_length=300), ONE_LINE] = ""
    primary: bool = False


class DiagnosisDraftIn(Strict):
    diagnoses: list[DiagnosisItemIn] = Field(default_factory=list, max_length=12)


class PlanDraftIn(Strict):
    plan: NoteText = ""
    patient_instructions: NoteText = ""
    follow_up: NoteText = ""
    return_precautions: NoteText = ""
    work_note: NoteText = ""


class DispositionDraftIn(Strict):
    disposition: Literal["treated", "redirected", "emergency_department", "no_show",
                         "cancelled"] | None = None
    redirect_to: Annotated[str, StringConstraints(max_length=300), ONE_LINE] = ""
    reason: Annotated[str, StringConstraints(max_length=2000), ONE_LINE] = ""
    identity_confirmed: bool = False
    # What happened when the video call never connected or dropped for good.
    call_outcome: Literal["phone", "no_join", "technical"] | None = None


class PrescriptionDraftIn(Strict):
    """The script being written, as typed; nothing here is checked until it is sent."""

    rxcui: Annotated[str, StringConstraints(pattern=r"^[0-9]{0,8}$")] = ""
    message_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{0,35}$")] = ""
    values: dict[Annotated[str, ONE_LINE],
                 Annotated[str, StringConstraints(max_length=500), ONE_LINE]] = Field(
        default_factory=dict, max_length=20)


PANE_MODELS: dict[str, type[Strict]] = {
    "diagnosis": DiagnosisDraftIn, "plan": PlanDraftIn, "disposition": DispositionDraftIn,
    "prescription": PrescriptionDraftIn,
}


class SignNoteIn(Strict):
    """What the provider sees is what is signed: the panes travel with the request."""

    diagnosis: DiagnosisDraftIn
    plan: PlanDraftIn
    disposition: DispositionDraftIn


class AddendumIn(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=10_000), SEVERAL_LINES]


class ChatIn(Strict):
    """A line of the in-call chat, as the call's data channel carried it."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=64,
                                         pattern=r"^[A-Za-z0-9-]+$")]
    sender: Literal["provider", "patient"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000), SEVERAL_LINES]
    sent_at: AwareTime


class SigIn(Strict):
    dose: Annotated[Decimal, Field(gt=0, le=1000, max_digits=8, decimal_places=3)]
    dose_unit: Literal["capsule", "tablet", "mL", "g", "spray", "drop", "application", "packet"]
    frequency: Literal["QD", "BID", "TID", "QID", "Q4H", "Q6H", "Q8H", "Q12H", "QHS", "ONCE"]
    duration_days: Annotated[int, Field(ge=1, le=365)] | None = None
    prn: bool = False


class PrescriptionIn(Strict):
    """A script to send. ``message_id`` is made by the workstation when the provider presses
    Send, so a request repeated after a lost answer finds the first script, not a second."""

    message_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{8,35}$")]
    rxcui: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,8}$")]
    sig: SigIn
    quantity: Annotated[Decimal, Field(gt=0, le=10000, max_digits=9, decimal_places=3)]
    quantity_unit: Literal["capsule", "tablet", "mL", "g"]
    days_supply: Annotated[int, Field(ge=1, le=365)]
    refills: Annotated[int, Field(ge=0, le=11)] = 0
    substitution_allowed: bool = True
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=210), ONE_LINE] = ""
    pharmacy_ncpdp_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{7}$")]
    pharmacy_change_reason: Annotated[str, StringConstraints(strip_whitespace=True,
                                                             max_length=500), ONE_LINE] = ""
    override_reason: Annotated[str, StringConstraints(strip_whitespace=True,
                                                      max_length=500), ONE_LINE] = ""
    # The warnings the provider was shown (their text): the reason covers these only.
    acknowledged: list[Annotated[str, StringConstraints(max_length=1000), SEVERAL_LINES]] = Field(
        default_factory=list, max_length=30)


class CancelPrescriptionIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500),
                      ONE_LINE] = ""


# -- the practice: first run and Settings > Practice on the embedded hub ------------------------


def _npi(value: str) -> str:
    problem = npi_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# 10 digits whose last is the Luhn check digit over 80840 and the first nine.
Npi = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20),
                AfterValidator(_npi)]


class PracticeIn(Strict):
    """The practice address and phone printed on prescriptions as the prescriber's."""

    address: AddressIn
    phone: Phone

    def to_practice(self) -> Practice:
        a = self.address
        return Practice(Address(a.line1, a.city, a.state, a.postal_code, a.line2), self.phone)


class FirstProviderSetupIn(FirstProviderIn):
    """The embedded hub's first account with what e-prescribing needs from the start: the
    provider's NPI and the practice's address and phone."""

    npi: Npi
    practice: PracticeIn


class PracticeSettingsIn(PracticeIn):
    """Settings > Practice: the practice's address and phone, and the first provider's NPI."""

    npi: Npi
