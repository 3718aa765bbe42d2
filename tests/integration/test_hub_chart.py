"""The chart of a claimed visit over the real hub: open, draft, sign, addendum, export."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import checkin_body
from tests.hub_fixtures import HubContext, receive_type

pytestmark = pytest.mark.asyncio

COMPLETE = {
    "diagnosis": {"diagnoses": [{"code": "J02.9", "description": "", "primary": True},
                                {"code": "R50.9", "description": "", "primary": False}]},
    "plan": {"plan": "Supportive care.", "patient_instructions": "Rest, fluids, salt-water "
             "gargles.", "follow_up": "Your own doctor if not better in 5 days.",
             "return_precautions": "Trouble breathing or swallowing, drooling: go to the ED.",
             "work_note": ""},
    "disposition": {"disposition": "treated", "redirect_to": "", "reason": "",
                    "identity_confirmed": True},
}


async def claimed(hub_ctx: HubContext, username: str = "house", *,
                  call: tuple[str, ...] = ("started", "ended")) -> tuple[str, dict[str, Any]]:
    """A checked-in patient claimed by ``username``, with the call's course so far (by
    default a call that connected and ended)."""
    await hub_ctx.add_provider(username)
    token = await hub_ctx.sign_in(username)
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    status, _ = await hub_ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=token)
    assert status == 200
    for event in call:
        status, _ = await hub_ctx.post(f"/api/visits/{visit['visit_id']}/call",
                                       {"event": event}, token)
        assert status == 200
    return token, visit


async def test_opening_the_chart_shows_everything_and_is_audited(hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)
    vid = visit["visit_id"]

    status, chart = await hub_ctx.get(f"/api/visits/{vid}/chart", token)

    assert status == 200
    assert chart["patient"]["family_name"] == "Quartermaine"
    assert chart["patient"]["age"] == 41
    assert chart["intake"]["allergies"] == checkin_body()["allergies"]
    assert {f["code"] for f in chart["intake"]["red_flags"]} >= {"chest_pain"}
    assert chart["pharmacy"]["ncpdp_id"] == checkin_body()["pharmacy_id"]
    assert chart["payments"][0]["amount"] == "49.00"
    assert "charged even when the patient is redirected" in chart["fee_note"]
    assert "J02.9" in [c["code"] for c in chart["shortlist"]]
    assert chart["plan_template"]["return_precautions"]
    assert chart["note"] is None and chart["drafts"] == {}
    opened = [e for e in hub_ctx.hub.service.store.audit_events(visit_id=vid)
              if e.action == "chart.open"]
    assert len(opened) == 1 and opened[0].outcome == "success"


async def test_another_provider_is_refused_and_the_attempt_is_audited(hub_ctx: HubContext):
    _, visit = await claimed(hub_ctx)
    await hub_ctx.add_provider("wilson")
    wilson = await hub_ctx.sign_in("wilson")
    vid = visit["visit_id"]

    status, error = await hub_ctx.get(f"/api/visits/{vid}/chart", wilson)
    assert status == 403 and error["error"]["code"] == "not_yours"
    status, _ = await hub_ctx.put(f"/api/visits/{vid}/drafts/plan", {"plan": "x"}, wilson)
    assert status == 403
    denied = [e for e in hub_ctx.hub.service.store.audit_events(visit_id=vid)
              if e.outcome == "denied"]
    assert [e.action for e in denied] == ["chart.open", "chart.write"]


async def test_drafts_are_kept_as_typed_and_come_back_with_the_chart(hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)
    vid = visit["visit_id"]
    typed = {"plan": "<b>not bold</b> & ünïcödé\n" * 3, "patient_instructions": "",
             "follow_up": "", "return_precautions": "", "work_note": ""}

    status, first = await hub_ctx.put(f"/api/visits/{vid}/drafts/plan", typed, token)
    assert status == 200 and first["revision"] == 1
    status, second = await hub_ctx.put(f"/api/visits/{vid}/drafts/plan", typed, token)
    assert second["revision"] == 2

    _, chart = await hub_ctx.get(f"/api/visits/{vid}/chart", token)
    assert chart["drafts"]["plan"]["body"] == typed
    saves = [e for e in hub_ctx.hub.service.store.audit_events(visit_id=vid)
             if e.action == "chart.draft"]
    assert [e.detail for e in saves] == ["plan", "plan"]


async def test_malformed_drafts_and_unknown_panes_are_refused(hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)
    vid = visit["visit_id"]
    status, error = await hub_ctx.put(f"/api/visits/{vid}/drafts/plan", {"plan": 3}, token)
    assert status == 422 and error["error"]["code"] == "invalid"
    status, _ = await hub_ctx.put(f"/api/visits/{vid}/drafts/secret", {}, token)
    assert status == 404
    _, chart = await hub_ctx.get(f"/api/visits/{vid}/chart", token)
    assert chart["drafts"] == {}


async def test_signing_names_everything_missing_and_changes_nothing(hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx, call=())  # the video call never connected
    vid = visit["visit_id"]
    empty = {"diagnosis": {"diagnoses": []}, "plan": {}, "disposition": {}}

    status, error = await hub_ctx.post(f"/api/visits/{vid}/sign", empty, token)

    assert status == 422 and error["error"]["code"] == "incomplete"
    assert error["error"]["missing"] == [
        "choose a disposition",
        "say what happened to the video call (it never connected or dropped)",
        "choose a primary diagnosis", "write the treatment plan",
        "write the patient instructions", "write the return precautions",
        "confirm the patient's identity (name and date of birth)"]
    assert hub_ctx.hub.service.store.visit(vid).state == "claimed"


async def test_a_category_code_is_refused_with_the_reason(hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)
    note = {**COMPLETE, "diagnosis": {"diagnoses": [{"code": "J02", "primary": True}]}}

    status, error = await hub_ctx.post(f"/api/visits/{visit['visit_id']}/sign", note, token)

    assert status == 422 and error["error"]["code"] == "invalid_diagnosis"
    assert "J02.9" in error["error"]["message"]  # it names the billable codes to choose from


async def test_signing_locks_the_note_tells_the_patient_and_allows_an_addendum(
        hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)
    vid = visit["visit_id"]
    patient_ws = await hub_ctx.patient_socket(visit["visit_token"])
    await hub_ctx.put(f"/api/visits/{vid}/drafts/plan", COMPLETE["plan"], token)

    status, note = await hub_ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)

    assert status == 200
    assert note["signed_by_name"] == "Dr. House"
    assert "J02.9 Acute pharyngitis, unspecified (primary)" in note["summary"]
    assert note["summary"].startswith(
        "Virtual Care — Video visit on November 24, 2026 with Dr. House")
    assert "Prescriptions: none" in note["summary"]
    assert hub_ctx.hub.service.store.visit(vid).state == "signed"
    pushed = await receive_type(patient_ws, "status")
    assert pushed["state"] == "signed" and pushed["summary"] == note["summary"]
    # Locked: no more drafts, no second signature.
    status, error = await hub_ctx.put(f"/api/visits/{vid}/drafts/plan", COMPLETE["plan"], token)
    assert status == 409 and error["error"]["code"] == "note_locked"
    status, _ = await hub_ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)
    assert status == 409
    status, addendum = await hub_ctx.post(f"/api/visits/{vid}/addenda",
                                          {"text": "Strep test negative."}, token)
    assert status == 201 and addendum["author_name"] == "Dr. House"
    _, chart = await hub_ctx.get(f"/api/visits/{vid}/chart", token)
    assert chart["note"]["summary"] == note["summary"]
    assert [a["text"] for a in chart["addenda"]] == ["Strep test negative."]
    assert chart["drafts"] == {}
    actions = [e.action for e in hub_ctx.hub.service.store.audit_events(visit_id=vid)]
    assert "chart.sign" in actions and "chart.addendum" in actions


async def test_a_redirected_visit_is_still_charged_and_says_so(hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)
    vid = visit["visit_id"]
    redirected = {**COMPLETE, "disposition": {
        "disposition": "redirected", "redirect_to": "Main Street urgent care clinic",
        "reason": "Needs a throat swab in person", "identity_confirmed": True}}

    status, note = await hub_ctx.post(f"/api/visits/{vid}/sign", redirected, token)

    assert status == 200
    assert hub_ctx.hub.service.store.visit(vid).state == "redirected"
    assert "charged even when the patient is redirected" in note["summary"]
    assert [p.status for p in hub_ctx.hub.service.store.payments(vid)] == ["paid"]


async def test_a_returning_patient_brings_the_signed_visit_into_the_record(
        hub_ctx: HubContext):
    token, first = await claimed(hub_ctx)
    status, note = await hub_ctx.post(f"/api/visits/{first['visit_id']}/sign", COMPLETE, token)
    assert status == 200
    # The same person checks in again (other capitalisation, phone written differently).
    again = checkin_body()
    again["patient"]["given_name"] = "ROSALIND"
    again["patient"]["phone"] = "(512) 555 0142"
    _, second = await hub_ctx.post("/api/checkins", again)
    _, stranger = await hub_ctx.post("/api/checkins", checkin_body(
        patient={**checkin_body()["patient"], "phone": "212-555-0199", "email": ""}))
    await hub_ctx.post(f"/api/visits/{second['visit_id']}/claim", token=token)
    await hub_ctx.post(f"/api/visits/{stranger['visit_id']}/claim", token=token)

    _, chart = await hub_ctx.get(f"/api/visits/{second['visit_id']}/chart", token)
    _, other = await hub_ctx.get(f"/api/visits/{stranger['visit_id']}/chart", token)

    assert [h["visit_id"] for h in chart["history"]] == [first["visit_id"]]
    assert chart["history"][0]["summary"] == note["summary"]
    assert chart["history"][0]["provider_name"] == "Dr. House"
    assert {"code": "J02.9", "description": "Acute pharyngitis, unspecified"} \
        in chart["problems"]
    assert other["history"] == []  # same name and birthday, but no shared phone or email
    # An unsigned-in check-in never rewrites the record it matched.
    assert chart["patient"]["given_name"] == "Rosalind"
    assert chart["patient"]["phone"] == "512-555-0142"


async def test_fhir_export_of_a_signed_visit_parses_back(hub_ctx: HubContext):
    from fhir.resources.R4B.bundle import Bundle

    token, visit = await claimed(hub_ctx)
    vid = visit["visit_id"]
    status, error = await hub_ctx.get(f"/api/visits/{vid}/fhir", token)
    assert status == 409 and error["error"]["code"] == "not_signed"
    await hub_ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)

    async with hub_ctx.http.get(f"{hub_ctx.url}/api/visits/{vid}/fhir",
                                headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200
        assert r.content_type == "application/fhir+json"
        text = await r.text()

    bundle = Bundle.model_validate_json(text)
    kinds = sorted(e.resource.get_resource_type() for e in bundle.entry)
    assert {"Patient", "Encounter", "Condition", "CarePlan", "QuestionnaireResponse"} <= set(kinds)
    assert [e.action for e in hub_ctx.hub.service.store.audit_events(visit_id=vid)
            ].count("chart.export") == 2


async def test_code_search_understands_what_clinicians_type(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")

    _, uti = await hub_ctx.get("/api/icd10?q=UTI", token)
    _, strep = await hub_ctx.get("/api/icd10?q=strep%20throat", token)
    _, shortlist = await hub_ctx.get("/api/icd10?q=&condition=sore_throat", token)

    assert uti["codes"][0]["code"] == "N39.0"
    assert strep["codes"][0]["code"] == "J02.0"
    assert shortlist["codes"][0]["code"] == "J02.9"
    assert len({c["code"] for c in uti["codes"]}) == len(uti["codes"])  # no code twice


@pytest.mark.parametrize("course", [(), ("started", "interrupted", "ended")],
                         ids=["never connected", "dropped for good"])
async def test_a_video_visit_whose_call_did_not_hold_is_signed_only_with_what_happened(
        hub_ctx: HubContext, course: tuple[str, ...]):
    token, visit = await claimed(hub_ctx, call=course)
    vid = visit["visit_id"]
    _, chart = await hub_ctx.get(f"/api/visits/{vid}/chart", token)
    assert chart["visit"]["call_failed"] is True

    status, error = await hub_ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)
    assert status == 422
    assert error["error"]["missing"] == [
        "say what happened to the video call (it never connected or dropped)"]

    by_phone = {**COMPLETE, "disposition": {**COMPLETE["disposition"], "call_outcome": "phone"}}
    status, note = await hub_ctx.post(f"/api/visits/{vid}/sign", by_phone, token)
    assert status == 200
    assert note["summary"].startswith("Virtual Care — Visit by phone on")
    assert "Video call: Finished by phone: the video call did not work" in note["summary"]
    assert note["content"]["disposition"]["call_outcome"] == "phone"


async def test_a_call_that_dropped_and_came_back_needs_no_explanation(hub_ctx: HubContext):
    token, visit = await claimed(
        hub_ctx, call=("started", "interrupted", "resumed", "ended"))
    _, chart = await hub_ctx.get(f"/api/visits/{visit['visit_id']}/chart", token)
    assert chart["visit"]["call_failed"] is False
    status, _ = await hub_ctx.post(f"/api/visits/{visit['visit_id']}/sign", COMPLETE, token)
    assert status == 200


async def test_call_again_after_end_reaches_the_patient_and_no_socket_closes(
        hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)  # called, then ended: documenting
    vid = visit["visit_id"]
    assert hub_ctx.hub.service.store.visit(vid).state == "documenting"
    provider_ws = await hub_ctx.provider_socket(token)
    patient_ws = await hub_ctx.patient_socket(visit["visit_token"])

    await provider_ws.send_json({"type": "signal", "visit_id": vid,
                                 "data": {"kind": "offer", "sdp": "v=0", "session": 2}})
    relayed = await receive_type(patient_ws, "signal")
    assert relayed["data"]["kind"] == "offer"
    status, moved = await hub_ctx.post(f"/api/visits/{vid}/call", {"event": "started"}, token)
    assert status == 200 and moved["state"] == "in_call"

    # Signed meanwhile, a late "bye" is dropped with a word; the socket stays open.
    await hub_ctx.post(f"/api/visits/{vid}/call", {"event": "ended"}, token)
    status, _ = await hub_ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)
    assert status == 200
    await provider_ws.send_json({"type": "signal", "visit_id": vid, "data": {"kind": "bye"}})
    dropped = await receive_type(provider_ws, "signal.dropped")
    assert dropped["visit_id"] == vid
    await provider_ws.send_json({"type": "ping"})
    assert (await receive_type(provider_ws, "pong"))["type"] == "pong"
    assert not provider_ws.closed


async def test_the_link_shows_the_summary_after_signing_for_summary_days_only(
        hub_ctx: HubContext):
    token, visit = await claimed(hub_ctx)
    vid, link = visit["visit_id"], visit["visit_token"]
    status, note = await hub_ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)
    assert status == 200

    status, page = await hub_ctx.get(f"/api/visits/{link}")
    assert status == 200
    assert page["state"] == "signed" and page["summary"] == note["summary"]
    assert page["summary_until_text"]  # says until when, in site time
    # Read-only: the call is not offered, a signal from the page goes nowhere.
    patient_ws = await hub_ctx.patient_socket(link)
    await patient_ws.send_json({"type": "signal", "data": {"kind": "hello"}})
    refused = await receive_type(patient_ws, "error")
    assert refused["message"] == "This visit is over."

    hub_ctx.clock.advance(days=hub_ctx.hub.service.config.summary_days, minutes=1)
    status, _ = await hub_ctx.get(f"/api/visits/{link}")
    assert status == 404
