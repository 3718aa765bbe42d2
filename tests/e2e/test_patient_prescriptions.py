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
