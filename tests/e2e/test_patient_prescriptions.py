"""The patient's page in Chromium shows each prescription, the pharmacy and its status live."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.integration.test_erx import erx_hub, script

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e]


async def test_the_patient_sees_the_prescription_go_to_the_pharmacy(
        sqlite_store, site, resources, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        page = await (await browser.new_context()).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{ctx.url}/v/{visit['visit_token']}")
        await expect(page.locator("#prescriptions_panel")).to_be_hidden()

        status, rx = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions",
                                    script(), token)
        assert status == 201, rx

        item = page.locator("#prescriptions_list li")
        await expect(item).to_have_count(1)
        await expect(item.locator("strong")).to_have_text(
            "Prescription sent to Main Street Pharmacy")
        await expect(item).to_contain_text("azithromycin 250 MG Oral Tablet")
        await expect(item).to_have_attribute("data-status", "accepted")
        await expect(item).to_contain_text("The pharmacy has it.")

        await page.reload()  # and after a reload, from the status the page asks for
        await expect(page.locator("#prescriptions_list li")).to_contain_text(
            "The pharmacy has it.")
        assert errors == []


async def test_after_signing_the_link_keeps_the_summary_and_the_prescriptions(
        sqlite_store, site, resources, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_hub_chart import COMPLETE

    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        vid, link = visit["visit_id"], visit["visit_token"]
        await ctx.post(f"/api/visits/{vid}/call", {"event": "started"}, token)
        status, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        assert status == 201, rx
        page = await (await browser.new_context()).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{ctx.url}/v/{link}")
        await expect(page.locator("#prescriptions_list li")).to_have_attribute(
            "data-status", "accepted")

        status, note = await ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)
        assert status == 200
        await expect(page.locator("#terminal_title")).to_have_text("Your visit is complete")
        await expect(page.locator("#summary_text")).to_contain_text("Prescriptions:")

        # The tab closed and the link opened again later: still there, read-only.
        again = await (await browser.new_context()).new_page()
        await again.goto(f"{ctx.url}/v/{link}")
        await expect(again.locator("#summary_text")).to_have_text(note["summary"])
        await expect(again.locator("#summary_until")).to_contain_text(
            "keeps your summary and your prescriptions' status until")
        await expect(again.locator("#prescriptions_list li")).to_contain_text(
            "The pharmacy has it.")
        await expect(again.locator("#join_video")).to_be_hidden()
        # The video page of a signed visit offers no call: it leads back to the summary.
        await again.goto(f"{ctx.url}/v/{link}/video")
        await expect(again.locator("#summary_text")).to_have_text(note["summary"])
        assert again.url.endswith(f"/v/{link}")
        assert errors == []
