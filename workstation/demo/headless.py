"""``workstation demo run SCENARIO --headless``: a scenario played end to end with no window.

A demo hub of its own (a new database in a temporary folder), the scenario's patients arriving
on a fast clock, and a scripted provider doing through the hub's APIs what a provider does at
the workstation: claim, call (the simulated patient's picture must show their name), chat,
prescribe (a warning without an override reason means choosing the next script), document and
sign. It prints what happened and checks every expected outcome of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from workstation.client.hub_answers import HubError
from workstation.client.hub_client import HubClient
from workstation.client.hub_events import ConnectionChanged
from workstation.core.demo import DEMO_PASSWORD, DEMO_USERNAME
from workstation.core.formulary import Drug
from workstation.core.prescribing import RxStatus
from workstation.core.site import SiteConfig
from workstation.demo.day import Arrival, DemoDay, demo_site, open_demo_store, prepare
from workstation.demo.likeness import name_on
from workstation.demo.scenario import Scenario, ScenarioPatient, Script
from workstation.devices.synthetic import TestPattern, Tone
from workstation.resource_files import Resources
from workstation.rtc.call import ChatMessage
from workstation.rtc.visit_call import VisitCall

SPEED = 60.0  # a scenario minute a second
ARRIVAL_S = 30.0  # a patient's check-in has this long to happen
JOIN_S = 12.0  # a video patient has this long to connect; then "did not join"
ANSWER_S = 8.0  # a chat answer
RECONNECT_S = 30.0  # a dropped call has this long to come back
PHARMACY_S = 20.0  # a script has this long to be taken or refused
FINAL = {RxStatus.ACCEPTED.value: "accepted", RxStatus.ERROR.value: "rejected"}

Say = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    patient: str
    what: str
    expected: object
    actual: object

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    def __str__(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        said = f"{self.actual}" if self.ok else f"expected {self.expected}, got {self.actual}"
        return f"  {mark} {self.patient}: {self.what}: {said}"


@dataclass
class Seen:
    """What the scripted provider saw of one patient."""

    video: str | None = None
    picture_shows: str | None = None
    chat_answer: bool | None = None
    allergy_warning: bool = False
    prescription: str = "none"
    final_state: str | None = None
    primary_care_sent: bool | None = None


def run(scenario: Scenario, resources: Resources, config: SiteConfig, *,
        speed: float = SPEED, say: Say = print) -> int:
    """Play the scenario; 0 when every expected outcome happened, 1 otherwise."""
    checks = asyncio.run(play(scenario, resources, config, speed=speed, say=say))
    say("")
    say("Expected outcomes:")
    for check in checks:
        say(str(check))
    if not checks:
        say("  (the file expects nothing: add [patients.expect] tables to check outcomes)")
    failed = [c for c in checks if not c.ok]
    say(f"{len(checks) - len(failed)} of {len(checks)} expected outcomes happened"
        f"{'.' if not failed else f'; {len(failed)} did not.'}")
    return 1 if failed else 0


async def play(scenario: Scenario, resources: Resources, config: SiteConfig, *,
               speed: float = SPEED, say: Say = print) -> list[Check]:
    from workstation.erx.sender import sender_factory
    from workstation.hub.server import start_hub

    started = time.monotonic()

    def log(name: str, what: str) -> None:
        elapsed = time.monotonic() - started
        say(f"{elapsed:6.1f}s  {name}: {what}")

    say(f"Scenario: {scenario.title} ({scenario.path.name}), {len(scenario.patients)} "
        f"patient{'s' if len(scenario.patients) != 1 else ''}, at ×{speed:g}")
    site = demo_site(config, scenario)
    with tempfile.TemporaryDirectory(prefix="workstation-demo-") as folder:
        store = await asyncio.to_thread(open_demo_store, Path(folder) / "demo.db")
        try:
            hub = await start_hub(store, site, resources, embedded=True, demo=True,
                                  outbox=sender_factory())
            try:
                appointments = await asyncio.to_thread(prepare, store, site, scenario)
                async with HubClient(hub.url) as client:
                    await client.sign_in(DEMO_USERNAME, DEMO_PASSWORD)
                    connected = asyncio.Event()
                    events = asyncio.create_task(_follow(client, connected))
                    await asyncio.wait_for(connected.wait(), ARRIVAL_S)
                    day = DemoDay(hub.url, scenario, appointments, speed=speed, on_event=log)
                    day.start()
                    try:
                        seen = await _the_day(day, client, hub, resources, log)
                    finally:
                        await day.stop()
                        events.cancel()
                        with contextlib.suppress(asyncio.CancelledError, HubError):
                            await events
            finally:
                await hub.close()
        finally:
            await asyncio.to_thread(store.close)
    return _checks(scenario, day, seen)


async def _follow(client: HubClient, connected: asyncio.Event) -> None:
    """The provider socket: the calls' signaling goes over it (queue events are not needed
    here), so it is open before the first patient arrives."""
    async for event in client.events():
        if isinstance(event, ConnectionChanged) and event.connected:
            connected.set()


async def _the_day(day: DemoDay, client: HubClient, hub: Any, resources: Resources,
                   log: Callable[[str, str], None]) -> dict[str, Seen]:
    seen: dict[str, Seen] = {}
    coming = [p for p in day.scenario.patients if p.arrives_at_minute is not None]
    for patient in sorted(coming, key=lambda p: p.arrives_at_minute or 0.0):
        arrival = day.arrivals[patient.name]

        def came(a: Arrival = arrival) -> bool:
            return bool(a.checkin) or a.begin_refused

        def began(a: Arrival = arrival) -> bool:
            return a.checkin == "accepted"

        await _until(came, _real_seconds(day, patient.arrives_at_minute) + ARRIVAL_S)
        if patient.visit == "scheduled" and arrival.begin_refused \
                and patient.echeckin_at_minute is not None:
            await _until(began, _real_seconds(day, patient.echeckin_at_minute) + ARRIVAL_S)
        if arrival.checkin == "accepted" and patient.provider_sees:
            seen[patient.name] = await _see(arrival, client, hub, resources, day, log)
    await _until(lambda: day.everyone_arrived, ARRIVAL_S)
    for patient in day.scenario.patients:
        state = await _state(hub, day.arrivals[patient.name].visit_id)
        seen.setdefault(patient.name, Seen()).final_state = state
    return seen


def _real_seconds(day: DemoDay, minute: float | None) -> float:
    """How long until the scenario's clock reaches ``minute``, in real seconds."""
    return max(0.0, ((minute or 0.0) - day.minute) * 60 / day.speed)


async def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _state(hub: Any, visit_id: str) -> str | None:
    if not visit_id:
        return None
    detail = await asyncio.to_thread(hub.service.store.visit_detail, visit_id)
    return detail.visit.state.value if detail is not None else None


async def _see(arrival: Arrival, client: HubClient, hub: Any, resources: Resources,
               day: DemoDay, log: Callable[[str, str], None]) -> Seen:
    """The scripted provider's visit with one patient."""
    patient, seen = arrival.patient, Seen()
    await client.claim(arrival.visit_id)
    log(patient.name, "claimed by the provider")
    call_failed = False
    if patient.visit != "e_visit":
        call_failed = not await _call(arrival, client, seen, list(day.arrivals), log)
    for script in patient.provider.prescribe:
        drug = resources.formulary.get(script.rxcui)
        if drug is not None and await _prescribe(arrival, client, script, drug, seen, log):
            break
    panes = _note(patient, resources, call_failed)
    try:
        await client.sign(arrival.visit_id, panes)
        log(patient.name, f"note signed ({patient.provider.disposition})")
    except HubError as exc:
        log(patient.name, f"the note was not signed: {exc}")
    if patient.primary_care is not None and patient.primary_care.get("share"):
        seen.primary_care_sent = await _until(lambda: _delivered(hub, arrival.visit_id),
                                              PHARMACY_S)
    return seen


def _delivered(hub: Any, visit_id: str) -> bool:
    from workstation.hub.primary_care import PRIMARY_CARE
    from workstation.storage.documents import DELIVERED

    states = [d.state for d in hub.app[PRIMARY_CARE].store.for_visit(visit_id)]
    return bool(states) and all(s == DELIVERED for s in states)


async def _call(arrival: Arrival, client: HubClient, seen: Seen, names: list[str],
                log: Callable[[str, str], None]) -> bool:
    """Call the patient; True when the call connected at some point."""
    patient = arrival.patient
    frames: list[av.VideoFrame] = []
    states: list[str] = []
    answers: list[ChatMessage] = []

    def keep(frame: av.VideoFrame) -> None:
        frames[:] = [frame]

    call = VisitCall(client, arrival.visit_id, video=TestPattern(640, 480).frame,
                     audio=Tone().frame, on_video=keep, on_state=states.append,
                     on_chat=lambda m: answers.append(m) if m.sender == "patient" else None)
    await call.start()
    try:
        if not await _until(lambda: "connected" in states, JOIN_S):
            seen.video = "no_join"
            log(patient.name, f"did not join the video in {JOIN_S:.0f} s")
            return False
        seen.video = "connected"
        if await _until(lambda: bool(frames), 5.0):
            await asyncio.sleep(0.5)  # a few frames in: the picture has settled
            seen.picture_shows = name_on(frames[0], names)
            log(patient.name, f"on video; the picture shows {seen.picture_shows}")
        call.send_chat(patient.provider.says)
        seen.chat_answer = await _until(lambda: bool(answers), ANSWER_S)
        if answers:
            log(patient.name, f"wrote in the chat: {answers[0].text!r}")
        dropped = patient.call == "drops" and await _until(
            lambda: "reconnecting" in states, RECONNECT_S)
        if dropped and await _until(lambda: states[-1] == "connected", RECONNECT_S):
            seen.video = "reconnected"
            log(patient.name, "the call came back after the drop")
        return True
    finally:
        await call.end()


def _script_body(arrival: Arrival, drug: Drug) -> dict[str, Any]:
    """The script as the prescribing pane fills it for this drug: the usual directions."""
    sig = drug.sig
    return {"message_id": uuid.uuid4().hex, "rxcui": drug.rxcui,
            "sig": {"dose": str(sig.dose), "dose_unit": sig.dose_unit, "prn": sig.prn,
                    "frequency": sig.frequency, "duration_days": sig.duration_days},
            "quantity": str(drug.quantity), "quantity_unit": drug.quantity_unit,
            "days_supply": drug.days_supply, "refills": 0,
            "substitution_allowed": True, "note": "",
            "pharmacy_ncpdp_id": arrival.patient.pharmacy}


async def _prescribe(arrival: Arrival, client: HubClient, script: Script, drug: Drug,
                     seen: Seen, log: Callable[[str, str], None]) -> bool:
    """Check and send one script; True once one went out (whatever the pharmacy said)."""
    name = arrival.patient.name
    body = _script_body(arrival, drug)
    checked = await client.check_prescription(arrival.visit_id, body)
    findings = checked.get("findings") or []
    if any(f.get("kind") == "allergy" for f in findings):
        seen.allergy_warning = True
    if findings:
        log(name, "prescribing check: " + "; ".join(str(f.get("message")) for f in findings))
        if not script.override_reason:
            log(name, f"the provider does not send rxcui {script.rxcui}")
            return False
        body["override_reason"] = script.override_reason
        body["acknowledged"] = [str(f.get("message")) for f in findings]
    sent = await client.prescribe(arrival.visit_id, body)
    log(name, f"prescription sent: rxcui {script.rxcui} to {arrival.patient.pharmacy}")
    status = ""

    async def settled() -> bool:
        nonlocal status
        for rx in await client.prescriptions(arrival.visit_id):
            if rx.get("id") == sent.get("id"):
                status = str(rx.get("status"))
        return status in FINAL

    deadline = time.monotonic() + PHARMACY_S
    while not await settled() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    seen.prescription = FINAL.get(status, status or "none")
    log(name, f"the pharmacy: {seen.prescription}")
    return True


def _note(patient: ScenarioPatient, resources: Resources,
          call_failed: bool) -> dict[str, dict[str, Any]]:
    script = patient.provider
    code = script.diagnosis or next(iter(resources.shortlist_for(patient.condition)), "R69")
    template = resources.plan_template(patient.condition)
    plan = {"plan": script.plan or template.plan or "Supportive care.",
            "patient_instructions": template.patient_instructions or "Rest and drink fluids.",
            "follow_up": template.follow_up,
            "return_precautions": template.return_precautions
            or "Call 911 for trouble breathing or chest pain.",
            "work_note": ""}
    disposition: dict[str, Any] = {
        "disposition": script.disposition, "redirect_to": script.redirect_to,
        "reason": script.reason, "identity_confirmed": True}
    if call_failed:
        disposition["call_outcome"] = "no_join"
    return {"diagnosis": {"diagnoses": [{"code": code, "description": "", "primary": True}]},
            "plan": plan, "disposition": disposition}


def _checks(scenario: Scenario, day: DemoDay, seen: dict[str, Seen]) -> list[Check]:
    checks: list[Check] = []
    for patient in scenario.patients:
        arrival, expect = day.arrivals[patient.name], patient.expect
        got = seen.get(patient.name, Seen())
        name = patient.name
        if got.video is not None and got.video != "no_join":
            checks.append(Check(name, "the video shows the patient", name, got.picture_shows))
        for what, wanted, actual in (
                ("check-in", expect.checkin, arrival.checkin or None),
                ("video", expect.video, got.video),
                ("chat answer", expect.chat_answer, got.chat_answer),
                ("allergy warning", expect.allergy_warning, got.allergy_warning),
                ("prescription", expect.prescription, got.prescription),
                ("final state", expect.final_state, got.final_state),
                ("busier than usual", expect.busier_than_usual,
                 arrival.status.get("busier_than_usual")),
                ("begin refused before eCheck-in", expect.begin_refused, arrival.begin_refused),
                ("summary sent to the primary care provider", expect.primary_care_sent,
                 got.primary_care_sent)):
            if wanted is not None:
                checks.append(Check(name, what, wanted, actual))
    return checks
