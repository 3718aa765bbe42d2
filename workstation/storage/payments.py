"""Payment holds: the fee (or co-pay) authorised on the card, saved with its visit, captured.

The order is what keeps a patient from paying for nothing: the hold is written down before the
card is authorised, the visit is saved with its payment (and the hold marked *saved*) in one
transaction, and only then is the amount captured. A hold whose visit was never saved is
released (voided) by :meth:`PaymentHolds.abandoned`'s caller; a saved one whose capture failed is
captured again. The key is the page's idempotency key: a check-in sent again is answered with
the visit the first one made.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.core.payment import PaymentStatus
from workstation.storage.orm import PaymentHoldRow, PaymentRow
from workstation.storage.repository import Repository


class HoldState(enum.StrEnum):
    AUTHORIZING = "authorizing"  # written; the processor is being asked
    AUTHORIZED = "authorized"  # the processor holds the amount; the visit is being saved
    SAVED = "saved"  # the visit and its payment are written; the amount is to be captured
    CAPTURED = "captured"
    VOIDED = "voided"  # released: its visit was never saved
    DECLINED = "declined"


UNSETTLED = (HoldState.AUTHORIZING, HoldState.AUTHORIZED)
DONE = (HoldState.SAVED, HoldState.CAPTURED)


@dataclass(frozen=True)
class Hold:
    key: str
    purpose: str
    visit_id: str
    tries: int
    state: HoldState
    reference: str | None
    updated_at: datetime

    def processor_key(self, step: str) -> str:
        """The processor's idempotency key for one step of this try."""
        return f"{self.key}:{self.tries}:{step}"


class HoldBusy(Exception):
    """Another request with the same key is between authorising and saving."""

    def __init__(self, hold: Hold) -> None:
        super().__init__(hold.key)
        self.hold = hold


def _hold(r: PaymentHoldRow) -> Hold:
    return Hold(r.key, r.purpose, r.visit_id, r.tries, HoldState(r.state), r.reference,
                r.updated_at)


def mark_saved(s: Session, key: str, now: datetime) -> None:
    """In the transaction that saves the visit with its payment."""
    s.execute(update(PaymentHoldRow).where(PaymentHoldRow.key == key)
              .values(state=HoldState.SAVED.value, updated_at=now))


class PaymentHolds:
    def __init__(self, repository: Repository) -> None:
        self._sessions = repository.sessions

    def begin(self, key: str, *, purpose: str, visit_id: str, now: datetime) -> Hold:
        """The hold to authorise under ``key``: a new one, a new try after a decline or a
        release, or, when its visit is saved already, that one (state SAVED or CAPTURED: the
        caller answers with it). Raises HoldBusy while another request works on it."""
        with self._sessions.begin() as s:
            row = s.get(PaymentHoldRow, key, with_for_update=True)
            if row is None:
                row = PaymentHoldRow(key=key, purpose=purpose, visit_id=visit_id, tries=1,
                                     state=HoldState.AUTHORIZING.value, reference=None,
                                     created_at=now, updated_at=now)
                s.add(row)
                try:
                    s.flush()
                except IntegrityError:  # the same key, at the same moment
                    raise HoldBusy(Hold(key, purpose, visit_id, 1, HoldState.AUTHORIZING,
                                        None, now)) from None
                return _hold(row)
            state = HoldState(row.state)
            if state in DONE:
                return _hold(row)
            if state in UNSETTLED:
                # Either still at work, or left by a hub that stopped: released once stale.
                raise HoldBusy(_hold(row))
            row.tries += 1
            row.state, row.reference, row.updated_at = HoldState.AUTHORIZING.value, None, now
            row.visit_id = visit_id
            return _hold(row)

    def authorized(self, key: str, reference: str, now: datetime) -> None:
        self._set(key, HoldState.AUTHORIZED, now, reference=reference)

    def declined(self, key: str, now: datetime) -> None:
        self._set(key, HoldState.DECLINED, now)

    def voided(self, key: str, now: datetime) -> None:
        self._set(key, HoldState.VOIDED, now)

    def captured(self, hold: Hold, now: datetime) -> None:
        """The hold is captured: its payment row is paid."""
        with self._sessions.begin() as s:
            s.execute(update(PaymentHoldRow).where(PaymentHoldRow.key == hold.key)
                      .values(state=HoldState.CAPTURED.value, updated_at=now))
            s.execute(update(PaymentRow).where(PaymentRow.processor_reference == hold.reference,
                                               PaymentRow.visit_id == hold.visit_id)
                      .values(status=PaymentStatus.PAID.value, paid_at=now))

    def get(self, key: str) -> Hold | None:
        with self._sessions() as s:
            row = s.get(PaymentHoldRow, key)
            return _hold(row) if row is not None else None

    def to_capture(self) -> list[Hold]:
        """Saved with their visit, not yet captured (a capture that failed)."""
        return self._where(PaymentHoldRow.state == HoldState.SAVED.value)

    def abandoned(self, before: datetime) -> list[Hold]:
        """Authorising or authorised, untouched since ``before``: their request is long over,
        so their visit was never saved and the hold is to be released."""
        return self._where(PaymentHoldRow.state.in_([s.value for s in UNSETTLED]),
                           PaymentHoldRow.updated_at < before)

    def _where(self, *conditions: object) -> list[Hold]:
        with self._sessions() as s:
            rows = s.scalars(select(PaymentHoldRow).where(*conditions)  # type: ignore[arg-type]
                             .order_by(PaymentHoldRow.updated_at).limit(500))
            return [_hold(r) for r in rows]

    def _set(self, key: str, state: HoldState, now: datetime, *,
             reference: str | None = None) -> None:
        values: dict[str, object] = {"state": state.value, "updated_at": now}
        if reference is not None:
            values["reference"] = reference
        with self._sessions.begin() as s:
            s.execute(update(PaymentHoldRow).where(PaymentHoldRow.key == key).values(values))
