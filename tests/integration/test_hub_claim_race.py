"""Twenty providers press "claim" on the same patient at the same moment: one wins."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import checkin_body
from tests.hub_fixtures import HubContext

pytestmark = pytest.mark.asyncio


async def test_twenty_simultaneous_claims_over_http_have_one_winner(any_db_hub_ctx: HubContext):
    ctx = any_db_hub_ctx
    tokens = []
    for i in range(20):
        await ctx.add_provider(f"doc{i}", ("urgent_care",))
        tokens.append(await ctx.sign_in(f"doc{i}"))
    status, visit = await ctx.post("/api/checkins", checkin_body())
    assert status == 201

    results = await asyncio.gather(
        *(ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=t) for t in tokens))

    statuses = [s for s, _ in results]
    assert statuses.count(200) == 1
    assert statuses.count(409) == 19
    winner = next(body for s, body in results if s == 200)
    stored = ctx.hub.service.store.visit(visit["visit_id"])
    assert stored.provider_id == winner["provider_id"]
    claims = [e for e in ctx.hub.service.store.audit_events(visit_id=visit["visit_id"])
              if e.action == "visit.claim"]
    assert sorted(e.outcome for e in claims) == ["denied"] * 19 + ["success"]
