"""Tables. Amounts are integer cents; times are stored as UTC and read back timezone-aware."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetimes are not stored; pass an aware datetime.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), date: Date()}


class PatientRow(Base):
    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    given_name: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[date]
    sex: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(Text, default="")
    address_line1: Mapped[str] = mapped_column(Text, default="")
    address_line2: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime]


class ProviderRow(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    service_lines: Mapped[list[str]] = mapped_column(JSON)
    npi: Mapped[str] = mapped_column(String(10), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # The second factor (TOTP, RFC 6238): the shared secret (base32), and the last time step
    # a code was accepted for, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)


class ProviderSessionRow(Base):
    __tablename__ = "provider_sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # "access": the bearer token of requests; "refresh": "remember me", only exchanged for a
    # new access token (and a new refresh token) at /api/auth/refresh.
    kind: Mapped[str] = mapped_column(String(8), default="access", server_default="access")


class VisitRow(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_queue", "state", "service_line", "waiting_since"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    service_line: Mapped[str] = mapped_column(String(40))
    condition: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    waiting_since: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(ForeignKey("providers.id"))
    claimed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    scheduled_for: Mapped[datetime | None]
    echeckin_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    copay_cents: Mapped[int | None] = mapped_column(Integer)
    link_digest: Mapped[str] = mapped_column(String(64), unique=True)
    link_expires_at: Mapped[datetime]


class VisitTransitionRow(Base):
    __tablename__ = "visit_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))


class IntakeRow(Base):
    __tablename__ = "intakes"

    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    symptoms: Mapped[str] = mapped_column(Text)
    onset: Mapped[str] = mapped_column(Text)
    allergies: Mapped[str] = mapped_column(Text)
    medications: Mapped[str] = mapped_column(Text)
    red_flags: Mapped[dict[str, bool]] = mapped_column(JSON)
    consent_telehealth: Mapped[bool] = mapped_column(Boolean)
    callback_phone: Mapped[str] = mapped_column(String(40))
    pharmacy_id: Mapped[str] = mapped_column(String(20))
    patient_location_state: Mapped[str] = mapped_column(String(2))
    extra: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The patient's own doctor and their permission to share (PrimaryCare.as_mapping).
    primary_care: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ECheckInRow(Base):
    __tablename__ = "echeckins"

    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    forms: Mapped[dict[str, str]] = mapped_column(JSON)
    insurance: Mapped[dict[str, str]] = mapped_column(JSON)
    completed_at: Mapped[datetime]


class PaymentRow(Base):
    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # visit_fee | copay
    method: Mapped[str] = mapped_column(String(8))
    card_last4: Mapped[str] = mapped_column(String(4))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    processor_reference: Mapped[str] = mapped_column(Text)
    paid_at: Mapped[datetime]


class AuditRow(Base):
    """One event of the audit log, chained to the one before it (see ``audit_log``): each
    carries its predecessor's hash and its own, so an edited, removed, added or moved event
    breaks the chain. Ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL).
    """

    __tablename__ = "audit_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    visit_id: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256; the first event's: zeros
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The audit log's last event as it was written: one row. Events removed from the end of
    the log leave a chain that is intact but shorter than this says."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    last_id: Mapped[int] = mapped_column(Integer)  # 0: no event yet
    hash: Mapped[str] = mapped_column(String(64))


class DraftRow(Base):
    """One pane of a visit's documentation as last typed, kept until the note is signed."""

    __tablename__ = "drafts"

    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    pane: Mapped[str] = mapped_column(String(20), primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class NoteRow(Base):
    """The signed note of a visit. Written once; never updated."""

    __tablename__ = "notes"

    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    signed_by: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    signed_at: Mapped[datetime]


class AddendumRow(Base):
    __tablename__ = "addenda"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    author_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class ChatMessageRow(Base):
    """A line of the in-call chat, kept with the visit record. Written once."""

    __tablename__ = "chat_messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    sender: Mapped[str] = mapped_column(String(8))  # "provider" or "patient"
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime]


class PrescriptionRow(Base):
    """A prescription written in a visit, with its latest status from the pharmacy network."""

    __tablename__ = "prescriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    pharmacy_ncpdp_id: Mapped[str] = mapped_column(String(7))
    message_id: Mapped[str] = mapped_column(String(36), unique=True)  # the NewRx's
    cancel_message_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # One more at every change: workstations keep the newest of answers that overtake.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxMessage:
    """The columns every outbox shares (see ``storage.outbox``): the message, where its
    delivery stands, and the lease of the sender posting it."""

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ErxOutboxRow(OutboxMessage, Base):
    """A NewRx or CancelRx waiting to be delivered, or delivered. The MessageID is the key the
    gateway recognises a repeat by, so a send retried after a crash is not a second script."""

    __tablename__ = "erx_outbox"

    prescription_id: Mapped[str] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # NewRx or CancelRx


class PharmacyInboxRow(Base):
    """What the pharmacy network simulator received, once per MessageID, with its answer."""

    __tablename__ = "pharmacy_inbox"

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ncpdp_id: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    payload: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    accepted: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime]


class SiteSettingRow(Base):
    """A site setting changed in the program instead of the site configuration file: the
    embedded hub's practice address and phone. The file gives the default; a row here wins."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80))  # the audit log's actor


class DocumentOutboxRow(OutboxMessage, Base):
    """A signed visit's summary on its way to the patient's primary care provider (a FHIR
    document Bundle), or delivered. Its MessageID is the Bundle's identifier: a receiver keeps a
    repeat once."""

    __tablename__ = "document_outbox"

    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    recipient: Mapped[str] = mapped_column(Text)  # who, in words, for the chart


class PrimaryCareInboxRow(Base):
    """What the primary-care endpoint simulator received, once per message."""

    __tablename__ = "primary_care_inbox"

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class PasswordAttemptRow(Base):
    """A password tried for a username from an address, counted before it is checked (so a
    burst of guesses sent at once is counted in full); removed by a success, or once old."""

    __tablename__ = "password_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(120), index=True)  # case-folded
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)


class HubEventRow(Base):
    """An event one hub process tells the others on PostgreSQL; the NOTIFY carries only its id,
    so nothing of a call passes through the channel any role may LISTEN to. Kept minutes."""

    __tablename__ = "hub_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[str] = mapped_column(Text)


class PaymentHoldRow(Base):
    """A fee or co-pay on its way: written before the card is authorised, marked when the
    visit is saved with it, then captured; one whose visit was never saved is released."""

    __tablename__ = "payment_holds"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # the page's idempotency key
    purpose: Mapped[str] = mapped_column(String(16))  # visit_fee | copay
    visit_id: Mapped[str] = mapped_column(String(36), index=True)  # the visit it is for
    tries: Mapped[int] = mapped_column(Integer)  # a new hold after a decline or a release
    state: Mapped[str] = mapped_column(String(16), index=True)
    reference: Mapped[str | None] = mapped_column(Text)  # the processor's, once authorised
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BreakGlassRow(Base):
    """A one-time code IT issues when a provider cannot give their second factor (a lost
    phone): accepted once instead of it, within its hour, and audited with its reason."""

    __tablename__ = "break_glass_codes"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    reason: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
