"""The demo's hub is marked as the demo, and the demo's account opens nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import checkin_body
from tests.hub_fixtures import running_hub
from workstation.core.audit import AuditOutcome
from workstation.core.demo import BANNER, DEMO_PASSWORD, DEMO_USERNAME
from workstation.core.people import Provider
from workstation.hub.auth import hash_password
from workstation.storage.store import VisitStore

pytestmark = pytest.mark.asyncio


def _demo_account(store: VisitStore) -> None:
    """The demo's account written straight into a database (as if a demo database were
    opened by a clinic's hub)."""
    store.add_provider(Provider("p-demo", DEMO_USERNAME, "Dr. Demo Trainer", ("urgent_care",),
                                "1234567893"), hash_password(DEMO_PASSWORD), datetime.now(UTC))


async def test_the_demo_account_cannot_sign_in_to_a_hub_that_is_not_the_demos(
        sqlite_store: VisitStore, site, resources) -> None:  # type: ignore[no-untyped-def]
    _demo_account(sqlite_store)
    async with running_hub(sqlite_store, site, resources) as ctx:
        status, body = await ctx.post("/api/auth/sign-in",
                                      {"username": "Demo", "password": DEMO_PASSWORD})
    assert status == 403 and body["error"]["code"] == "demo_only"
    assert "only in the demo" in body["error"]["message"]
    denied = [e for e in sqlite_store.audit_events() if e.action == "provider.sign_in"]
    assert [e.outcome for e in denied] == [AuditOutcome.DENIED]


async def test_the_demo_account_signs_in_to_the_demos_hub(
        sqlite_store: VisitStore, site, resources) -> None:  # type: ignore[no-untyped-def]
    _demo_account(sqlite_store)
    async with running_hub(sqlite_store, site, resources, demo=True) as ctx:
        status, body = await ctx.post("/api/auth/sign-in",
                                      {"username": DEMO_USERNAME, "password": DEMO_PASSWORD})
    assert status == 200 and body["provider"]["username"] == DEMO_USERNAME


async def test_a_clinics_hub_will_not_create_the_demo_account(
        sqlite_store: VisitStore, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with running_hub(sqlite_store, site, resources) as ctx:
        status, body = await ctx.post("/api/setup/first-provider", {
            "username": "demo", "display_name": "Dr. Demo", "password": "long enough pass",
            "service_lines": ["urgent_care"], "npi": "1234567893",
            "practice": {"address": {"line1": "1 Main St", "line2": "", "city": "Austin",
                                     "state": "TX", "postal_code": "78701"},
                         "phone": "512-555-0100"}})
    assert status == 422 and body["error"]["fields"] == {"username": "Kept for the demo."}, body
    assert sqlite_store.provider_count() == 0


@pytest.mark.parametrize("demo", [True, False])
async def test_every_patient_page_of_the_demos_hub_says_it_is_the_demo(
        sqlite_store: VisitStore, site, resources, demo: bool) -> None:  # type: ignore[no-untyped-def]
    async with running_hub(sqlite_store, site, resources, demo=demo) as ctx:
        _, visit = await ctx.post("/api/checkins", checkin_body())
        token = visit["visit_token"]
        pages = ["/checkin", "/device-test", f"/v/{token}", f"/v/{token}/video",
                 "/v/not-a-link-at-all-0000000000000000"]
        for path in pages:
            async with ctx.http.get(f"{ctx.url}{path}") as response:
                text = await response.text()
            assert (BANNER in text) is demo, path
            assert ("<title>" + BANNER in text) is demo, path
