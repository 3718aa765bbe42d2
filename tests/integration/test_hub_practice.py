"""Ready to prescribe from first start, on the real hub: the first run asks for the NPI and the
practice's address and phone, Settings > Practice (GET/PUT /api/practice) changes them for the
embedded hub's first provider only, and prescriptions carry what is in use."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.conftest import OPEN_NOW
from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, HubContext, running_hub
from tests.integration.test_erx import script
from workstation.client.hub_answers import HubError
from workstation.client.hub_client import HubClient
from workstation.core import ncpdp
from workstation.core.people import Address
from workstation.core.practice import Practice
from workstation.hub.prescription_api import PRESCRIPTIONS

pytestmark = pytest.mark.asyncio

NPI = "1234567893"
OTHER_NPI = "1245319599"
ADDRESS = {"line1": "500 Clinic Way", "line2": "Suite 2", "city": "Austin", "state": "TX",
           "postal_code": "78702"}
PHONE = "512-555-0100"


def first_provider_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": "ada", "display_name": "Dr. Ada Okafor", "password": PASSWORD,
        "service_lines": ["urgent_care"], "npi": NPI,
        "practice": {"address": dict(ADDRESS), "phone": PHONE}}
    body.update(changes)
    return body


async def first_run(ctx: HubContext) -> str:
    """The first account made as the workstation's first-run form makes it; its token."""
    status, answer = await ctx.post("/api/setup/first-provider", first_provider_body())
    assert status == 201, answer
    return await ctx.sign_in("ada")


async def claimed_visit(ctx: HubContext, token: str) -> str:
    _, visit = await ctx.post("/api/checkins", checkin_body())
    status, _ = await ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=token)
    assert status == 200
    return str(visit["visit_id"])


def sent_prescriber(ctx: HubContext) -> ncpdp.PrescriberParty:
    """The prescriber of the one NewRx in the outbox."""
    ((item, _state, _error),) = ctx.hub.app[PRESCRIPTIONS].store.outbox()
    return ncpdp.parse_prescription(item.payload).prescriber


def prescriber_problems(checked: dict[str, Any]) -> set[str]:
    return {p["label"] for p in checked["problems"]
            if p["label"].startswith(("prescriber", "from"))}


# -- first run ------------------------------------------------------------------------------


async def test_after_first_run_a_new_rx_carries_the_npi_and_the_practice(hub_ctx: HubContext):
    """The site file gives no practice here: what the first run asked for is what is used."""
    assert hub_ctx.hub.service.config.clinic_address is None
    token = await first_run(hub_ctx)
    visit_id = await claimed_visit(hub_ctx, token)

    status, checked = await hub_ctx.post(f"/api/visits/{visit_id}/prescriptions/check",
                                         script(), token)
    assert status == 200
    assert prescriber_problems(checked) == set()
    assert checked["hints"] == []

    status, sent = await hub_ctx.post(f"/api/visits/{visit_id}/prescriptions", script(), token)
    assert status == 201, sent
    prescriber = sent_prescriber(hub_ctx)
    assert prescriber.npi == NPI
    assert prescriber.address == Address("500 Clinic Way", "Austin", "TX", "78702", "Suite 2")
    assert prescriber.phone == "5125550100"  # SCRIPT carries the digits


def with_dallas_practice(site: Any) -> Any:
    """The site file gives a practice address and phone (Dallas)."""
    return dataclasses.replace(site, clinic_address=Address("1 Main St", "Dallas", "TX",
                                                            "75201"),
                               clinic_phone="214-555-0100")


async def test_the_site_files_practice_starts_the_first_run_form(
        sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    site = with_dallas_practice(site)
    async with running_hub(sqlite_store, site, resources) as ctx:
        assert (await ctx.get("/api/setup"))[1] == {
            "needs_first_provider": True,
            "practice": {"address": {"line1": "1 Main St", "line2": "", "city": "Dallas",
                                     "state": "TX", "postal_code": "75201"},
                         "phone": "214-555-0100"}}
        await first_run(ctx)
        assert (await ctx.get("/api/setup"))[1] == {"needs_first_provider": False}


async def test_the_first_run_refuses_a_missing_or_wrong_npi_and_practice_by_field(
        hub_ctx: HubContext):
    body = first_provider_body()
    del body["npi"], body["practice"]
    status, error = await hub_ctx.post("/api/setup/first-provider", body)
    assert status == 422
    assert error["error"]["fields"] == {"npi": "This is required.",
                                        "practice": "This is required."}

    body = first_provider_body(npi="1234567890", practice={
        "address": {**ADDRESS, "state": "Texas", "postal_code": "787"}, "phone": "call me"})
    status, error = await hub_ctx.post("/api/setup/first-provider", body)
    assert status == 422 and error["error"]["message"] == "Some answers need attention."
    assert error["error"]["fields"] == {
        "npi": "This is not a valid NPI: its last digit does not match the others. Check it "
               "for a typo.",
        "practice.address.state": "Use the two-letter state code, e.g. TX.",
        "practice.address.postal_code": "Enter a 5-digit ZIP code.",
        "practice.phone": "Enter a phone number: digits, spaces and + ( ) - . only."}

    status, error = await hub_ctx.post("/api/setup/first-provider",
                                       first_provider_body(npi="12345"))
    assert status == 422 and error["error"]["fields"] == {"npi": "An NPI is 10 digits."}

    # Nothing was made: the first run is still to do.
    assert (await hub_ctx.get("/api/setup"))[1]["needs_first_provider"] is True
    assert hub_ctx.hub.service.store.provider_count() == 0


async def test_a_clinic_hub_has_no_first_run(sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    from workstation.hub.server import start_hub

    hub = await start_hub(sqlite_store, site, resources)  # not embedded: a clinic's hub
    try:
        async with HubClient(hub.url) as client:
            assert not (await client.setup_status()).needs_first_provider
            with pytest.raises(HubError) as refused:
                await client.create_first_provider(
                    "ada", "Dr. Ada", PASSWORD, ["urgent_care"], npi=NPI,
                    practice=Practice(Address(**ADDRESS), PHONE))
            assert refused.value.status == 403
    finally:
        await hub.close()


# -- Settings > Practice ---------------------------------------------------------------------


async def test_the_first_provider_reads_and_changes_the_practice(any_db_hub_ctx: HubContext):
    ctx = any_db_hub_ctx
    token = await first_run(ctx)
    status, practice = await ctx.get("/api/practice", token)
    assert status == 200
    assert practice == {"npi": NPI, "address": ADDRESS, "phone": PHONE}

    new_address = {"line1": "9 River Rd", "line2": "", "city": "Round Rock", "state": "tx",
                   "postal_code": "78664-1234"}
    status, saved = await ctx.put("/api/practice", {"address": new_address,
                                                    "phone": "512 555 0199",
                                                    "npi": OTHER_NPI}, token)
    assert status == 200, saved
    expected = {"npi": OTHER_NPI, "address": {**new_address, "state": "TX"},
                "phone": "512 555 0199"}
    assert saved == expected
    assert (await ctx.get("/api/practice", token))[1] == expected

    # New prescriptions carry them at once (the NPI comes with the session's provider).
    visit_id = await claimed_visit(ctx, token)
    status, sent = await ctx.post(f"/api/visits/{visit_id}/prescriptions", script(), token)
    assert status == 201, sent
    prescriber = sent_prescriber(ctx)
    assert (prescriber.npi, prescriber.phone) == (OTHER_NPI, "5125550199")
    assert prescriber.address == Address("9 River Rd", "Round Rock", "TX", "786641234")

    updates = [e for e in ctx.hub.service.store.audit_events()
               if e.action == "practice.update"]
    assert [(e.outcome, e.detail) for e in updates] == [
        ("success", "first run"), ("success", "address, phone, npi")]


async def test_a_practice_with_mistakes_is_refused_by_field_and_nothing_changes(
        hub_ctx: HubContext):
    token = await first_run(hub_ctx)
    status, error = await hub_ctx.put("/api/practice", {
        "address": {**ADDRESS, "line1": " ", "postal_code": "ABCDE"}, "phone": PHONE,
        "npi": "1234567893x"}, token)
    assert status == 422
    assert error["error"]["fields"] == {
        "address.line1": "This is required.",
        "address.postal_code": "Enter a 5-digit ZIP code.",
        "npi": "An NPI is 10 digits."}
    assert (await hub_ctx.get("/api/practice", token))[1] == {
        "npi": NPI, "address": ADDRESS, "phone": PHONE}


async def test_only_the_first_provider_keeps_the_practice(hub_ctx: HubContext):
    first = await first_run(hub_ctx)
    await hub_ctx.add_provider("cuddy")
    second = await hub_ctx.sign_in("cuddy")

    status, error = await hub_ctx.get("/api/practice", second)
    assert status == 403 and error["error"]["code"] == "first_provider_only"
    assert error["error"]["message"] == (
        "Only the first account on this workstation (Dr. Ada Okafor) can change the practice "
        "details. Ask them to.")
    # Refused whatever is sent, before the body is looked at.
    for body in ({"address": ADDRESS, "phone": PHONE, "npi": NPI}, {"nonsense": True}):
        status, error = await hub_ctx.put("/api/practice", body, second)
        assert status == 403 and error["error"]["code"] == "first_provider_only"
    assert (await hub_ctx.get("/api/practice", first))[1]["address"] == ADDRESS
    denied = [e for e in hub_ctx.hub.service.store.audit_events()
              if e.action.startswith("practice.") and e.outcome == "denied"]
    assert len(denied) == 3

    assert (await hub_ctx.get("/api/practice"))[0] == 401
    assert (await hub_ctx.put("/api/practice", {}, token="made-up"))[0] == 401


async def test_a_clinic_hub_takes_the_practice_from_the_site_file_alone(
        sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    """Saved values (from an embedded past, say) do not count on a clinic's hub, and nobody
    changes them there."""
    from workstation.hub.server import start_hub
    from workstation.storage.site_settings import SiteSettingsStore

    SiteSettingsStore(sqlite_store).save_practice(
        Practice(Address("9 River Rd", "Round Rock", "TX", "78664"), "512-555-0199"),
        now=OPEN_NOW, actor="test")
    site = with_dallas_practice(site)
    hub = await start_hub(sqlite_store, site, resources)
    try:
        service = hub.service
        assert await service.practice() == Practice(site.clinic_address, "214-555-0100")
        await service.add_provider("house", "Dr. House", PASSWORD, ("urgent_care",), NPI)
        async with HubClient(hub.url) as client:
            await client.sign_in("house", PASSWORD)
            with pytest.raises(HubError) as refused:
                await client.practice_settings()
        assert refused.value.status == 403 and refused.value.code == "clinic_hub"
        assert "clinic_address, clinic_phone" in refused.value.message
    finally:
        await hub.close()


async def test_a_saved_practice_wins_over_the_site_file_on_the_embedded_hub(
        sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    site = with_dallas_practice(site)
    async with running_hub(sqlite_store, site, resources) as ctx:
        token = await first_run(ctx)
        assert (await ctx.get("/api/practice", token))[1]["address"] == ADDRESS
        assert await ctx.hub.service.practice() == Practice(
            Address("500 Clinic Way", "Austin", "TX", "78702", "Suite 2"), PHONE)


async def test_the_workstations_client_speaks_the_practice_api(hub_ctx: HubContext):
    async with HubClient(hub_ctx.url) as client:
        status = await client.setup_status()
        assert status.needs_first_provider and status.practice == Practice(None, "")
        practice = Practice(Address("500 Clinic Way", "Austin", "TX", "78702"), PHONE)
        provider = await client.create_first_provider("ada", "Dr. Ada", PASSWORD,
                                                      ["urgent_care"], npi=NPI,
                                                      practice=practice)
        assert provider.npi == NPI
        await client.sign_in("ada", PASSWORD)
        settings = await client.practice_settings()
        assert (settings.npi, settings.practice) == (NPI, practice)

        moved = Practice(Address("9 River Rd", "Round Rock", "TX", "78664", "Unit 4"),
                         "512-555-0199")
        saved = await client.save_practice_settings(OTHER_NPI, moved)
        assert (saved.npi, saved.practice) == (OTHER_NPI, moved)
        with pytest.raises(HubError) as refused:
            await client.save_practice_settings("1234567890", moved)
        assert refused.value.status == 422 and "npi" in refused.value.fields

