// Visit page (/v/<token>): waiting room for on-demand visits and E-Visits, eCheck-in and
// "Begin visit" for scheduled ones, and a plain message once the visit is over.
//
// Element ids for browser tests:
//   #status (live summary sentence), #connection ("Reconnecting…", live), #expired_panel
//   waiting: #waiting_panel #position #estimated_wait #promise #leave, #device_test_link,
//     #enable_notifications (asks permission only when pressed), #notify_status, #test_chime
//   ready:   #ready_banner #ready_text #join_video (href /v/<token>/video)
//   scheduled: #echeckin_panel #echeckin_form #ec_reason #ec_allergies #ec_medications #ins_payer
//     #ins_member_id #ins_group_number #ins_subscriber_name, co-pay (#copay_block, only when a
//     co-pay is due): #copay_card/#copay_hsa #copay_number #copay_exp_month #copay_exp_year
//     #copay_holder, #submit_echeckin, #echeckin_done; #begin_panel #begin_info #begin_visit
//   over:    #terminal_panel #terminal_title #terminal_message
//
// Status comes from GET /api/visits/<token> and then from {"type":"status"} messages on
// WS /ws/patient/<token>; a message may carry only some fields, so it is merged into what we know.

import {
  $, setText, fetchJSON, plainMessage, money, localDateTime, localTime, luhnValid, fillExpiry, playChime,
  unlockAudioOnGesture, showFieldError, clearFieldError, clearFieldErrors, clearErrorsOnEdit,
  byPagePosition, fillErrorSummary, focusField, parseMessage, setSiteZone, pageTitle,
} from "./common.js";
import { pharmacyPicker } from "./pharmacy-picker.js";
import { primaryCareFields } from "./primary-care.js";

const READY_STATES = new Set(["claimed", "in_call", "reconnecting"]);
const TERMINAL_STATES = new Set(["signed", "redirected", "cancelled", "no_show", "expired"]);
const PING_EVERY_MS = 25000;
const MAX_BACKOFF_MS = 30000;

const token = tokenFromPath(location.pathname);
const state = {
  status: null,
  site: null,
  ws: null,
  attempts: 0,
  reconnectTimer: null,
  pingTimer: null,
  stopped: false, // no more reconnecting (visit over or link gone)
  alerted: false, // the patient has been alerted for the current "ready" episode
  flashTimer: null,
  beginTimer: null,
  baseTitle: "Your visit",
  sending: false,
};

function tokenFromPath(path) {
  const match = /^\/v\/([^/]+)/.exec(path);
  return match ? decodeURIComponent(match[1]) : "";
}

function api(suffix = "") {
  return `/api/visits/${encodeURIComponent(token)}${suffix}`;
}

// ---- loading ------------------------------------------------------------------------------

async function load() {
  $("load_error").hidden = true;
  if (!token) {
    showExpired();
    return;
  }
  fetchJSON("/api/site").then((site) => {
    state.site = site;
    if (site.site_name) setText($("site_name"), site.site_name);
    if (state.status) render();
  }).catch(() => { /* the page works without it */ });
  try {
    state.status = await fetchJSON(api());
  } catch (err) {
    if (err.status === 404) {
      showExpired(err.message);
    } else {
      setText($("status"), "");
      setText($("load_error_message"), err.message);
      $("load_error").hidden = false;
    }
    return;
  }
  render();
  if (!isTerminal()) connect();
}

async function refreshStatus() {
  try {
    state.status = await fetchJSON(api());
    render();
  } catch (err) {
    if (err.status === 404) showExpired(err.message);
  }
}

function isTerminal() {
  return state.status && TERMINAL_STATES.has(state.status.state);
}

// ---- the socket ---------------------------------------------------------------------------

function connect() {
  if (state.stopped) return;
  clearTimeout(state.reconnectTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  try {
    ws = new WebSocket(`${scheme}//${location.host}/ws/patient/${encodeURIComponent(token)}`);
  } catch {
    scheduleReconnect();
    return;
  }
  state.ws = ws;
  ws.addEventListener("open", () => {
    state.attempts = 0;
    $("connection").hidden = true;
    setText($("connection"), "");
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
    }, PING_EVERY_MS);
  });
  ws.addEventListener("message", (event) => {
    const message = parseMessage(event.data);
    if (!message) return;
    if (message.type === "status") {
      const { type, ...fields } = message;
      state.status = { ...(state.status || {}), ...fields };
      render();
    } else if (message.type === "prescription" && message.prescription) {
      mergePrescription(message.prescription);
    } else if (message.type === "provider_ready") {
      if (state.status && typeof message.provider_name === "string") {
        state.status.provider_name = message.provider_name;
      }
      if (state.status && !READY_STATES.has(state.status.state)) state.status.state = "claimed";
      render();
      alertReady();
    }
    // "pong" needs nothing; "signal" belongs to the video page.
  });
  ws.addEventListener("close", (event) => {
    clearInterval(state.pingTimer);
    if (state.ws !== ws) return;
    state.ws = null;
    if (event.code === 4404) {
      showExpired();
      return;
    }
    if (state.stopped || isTerminal()) return;
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  if (state.stopped) return;
  clearTimeout(state.reconnectTimer);
  const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** state.attempts) * (0.75 + Math.random() * 0.5);
  state.attempts += 1;
  setText($("connection"), navigator.onLine === false
    ? "You are offline. Reconnecting when your connection is back…"
    : "Connection lost. Reconnecting…");
  $("connection").hidden = false;
  state.reconnectTimer = setTimeout(connect, delay);
}

function stopSocket() {
  state.stopped = true;
  clearTimeout(state.reconnectTimer);
  clearInterval(state.pingTimer);
  $("connection").hidden = true;
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    ws.close(1000, "visit over");
  }
}

window.addEventListener("online", () => {
  if (!state.ws && !state.stopped && state.status) {
    state.attempts = 0;
    connect();
  }
});

// ---- rendering ----------------------------------------------------------------------------

function show(id, visible) {
  $(id).hidden = !visible;
}

const KIND_NAMES = { on_demand: "Video visit", e_visit: "E-Visit (no video)", scheduled: "Scheduled video visit" };

function render() {
  if (state.status) setSiteZone(state.status.time_zone);
  const s = state.status;
  if (!s) return;
  const previous = state.lastState;
  state.lastState = s.state;
  const kind = s.kind || "on_demand";
  const eVisit = kind === "e_visit";
  const ready = READY_STATES.has(s.state);

  setText($("visit_subtitle"), s.condition_name ? `${KIND_NAMES[kind] || "Visit"} · ${s.condition_name}` : "");

  // Reset every panel; each state turns on its own.
  for (const id of ["waiting_panel", "prepare_panel", "ready_banner", "echeckin_panel", "echeckin_done",
    "begin_panel", "leave_panel", "terminal_panel", "expired_panel"]) show(id, false);
  show("details_panel", true);
  renderDetails(s, kind);

  if (ready) {
    renderReady(s, eVisit);
    if (previous && !READY_STATES.has(previous)) alertReady();
  } else {
    state.alerted = false;
    stopTitleFlash();
  }

  if (s.state === "waiting") {
    renderWaiting(s, eVisit);
  } else if (s.state === "checking_in") {
    if (kind === "scheduled") renderScheduled(s);
    else setStatus("We are finishing your check-in. This page updates by itself.", "Checking in");
  } else if (s.state === "documenting") {
    if (!eVisit) renderCallEnded(s);
    setStatus(eVisit
      ? "A provider has reviewed your E-Visit and is finishing the notes."
      : "The video call has ended. Your provider is finishing the visit notes; if they call you again, "
        + "the video page rings.", "Call ended");
  } else if (TERMINAL_STATES.has(s.state)) {
    renderTerminal(s, previous);
  } else if (!ready) {
    setStatus("Your visit is in progress.", "Your visit");
  }
  scheduleBeginCheck(s);
  renderPrescriptions();
}

// What the patient reads for each status of a prescription.
const RX_STATUS_TEXT = {
  queued: "Being sent to the pharmacy.",
  sent: "Sent. Waiting for the pharmacy to confirm.",
  accepted: "The pharmacy has it.",
  error: "Not sent yet. Your provider has been told and will sort it out.",
  cancelling: "Your provider is cancelling this prescription.",
  cancelled: "Cancelled: the pharmacy will not fill it.",
  cancel_failed: "Your provider asked to cancel this prescription; call the pharmacy before picking it up.",
};
// Still moving: looked at again while the page is open. ("sent" waits on the pharmacy's own
// systems, which may take longer than a visit page stays open.)
const RX_PENDING = new Set(["queued", "cancelling"]);
const RX_POLL_MS = 15000;

function mergePrescription(rx) {
  if (!state.status) return;
  const known = (state.status.prescriptions || []).find((p) => p.id === rx.id);
  if (known && (known.revision || 0) > (rx.revision || 0)) return; // an older answer, overtaken
  const list = (state.status.prescriptions || []).filter((p) => p.id !== rx.id);
  if (rx.status !== "withdrawn") list.push(rx);
  state.status.prescriptions = list;
  renderPrescriptions();
}

function renderPrescriptions() {
  const list = (state.status && state.status.prescriptions) || [];
  show("prescriptions_panel", list.length > 0);
  const ul = $("prescriptions_list");
  ul.replaceChildren(...list.map((rx) => {
    const li = document.createElement("li");
    const head = document.createElement("strong");
    const pharmacy = (rx.pharmacy && rx.pharmacy.name) || "your pharmacy";
    head.textContent = rx.status === "withdrawn" || rx.status === "cancelled"
      ? `Prescription for ${pharmacy}` : `Prescription sent to ${pharmacy}`;
    const drug = document.createElement("p");
    drug.textContent = [rx.drug, rx.sig_text].filter(Boolean).join(" — ");
    const status = document.createElement("p");
    status.className = "muted";
    status.textContent = RX_STATUS_TEXT[rx.status] || rx.status_text || "";
    li.append(head, drug, status);
    li.dataset.status = rx.status;
    return li;
  }));
  // After the visit the live connection closes: look again now and then until each is settled.
  clearTimeout(state.rxTimer);
  if (state.stopped || !state.ws) {
    if (list.some((rx) => RX_PENDING.has(rx.status))) {
      state.rxTimer = setTimeout(refreshPrescriptions, RX_POLL_MS);
    }
  }
}

async function refreshPrescriptions() {
  try {
    const fresh = await fetchJSON(api());
    if (state.status && Array.isArray(fresh.prescriptions)) {
      state.status.prescriptions = fresh.prescriptions;
    }
  } catch (err) {
    // Offline for a moment: the next look tries again.
  }
  renderPrescriptions();
}

function setStatus(text, title) {
  if ($("status").textContent !== text) setText($("status"), text);
  state.baseTitle = title ? `${title} — ${siteName()}` : siteName();
  if (!state.flashTimer) pageTitle(state.baseTitle);
}

function siteName() {
  return (state.site && state.site.site_name) || "Your visit";
}

function renderDetails(s, kind) {
  setText($("detail_condition"), s.condition_name || "");
  setText($("detail_kind"), KIND_NAMES[kind] || kind);
  if (kind === "scheduled") {
    setText($("detail_fee_label"), "Co-pay");
    setText($("detail_fee"), s.copay && Number(s.copay) > 0 ? money(s.copay) : "None");
  } else {
    setText($("detail_fee_label"), "Visit fee");
    setText($("detail_fee"), s.fee ? `${money(s.fee)} flat fee, not billed to insurance` : "");
  }
}

function renderWaiting(s, eVisit) {
  show("waiting_panel", true);
  show("prepare_panel", true);
  show("leave_panel", true);
  show("device_test_block", !eVisit);
  const position = Number.isInteger(s.position) ? s.position : null;
  const wait = Number.isInteger(s.estimated_wait_minutes) ? s.estimated_wait_minutes : null;
  const promised = s.promised_wait_minutes || (state.site && state.site.promised_wait_minutes) || 20;
  const busier = Boolean(s.busier_than_usual);
  setText($("position"), position === null ? "–" : `#${position}`);
  // E-Visits have their own line and their own promise: a reply by a time, not minutes.
  setText($("estimated_wait_label"), eVisit ? "Reply by" : "Estimated wait (about)");
  setText($("estimated_wait"), eVisit
    ? (s.reply_by ? localTime(s.reply_by) : "–")
    : wait === null ? "–" : busier ? `${promised}+` : `${wait} min`);
  $("estimated_wait").classList.toggle("is-time", eVisit);
  setText($("waiting_title"), eVisit ? "Your E-Visit is in line" : "You are in line");
  setText($("promise"), eVisit
    ? `A provider will review your answers and reply by ${s.reply_by ? localTime(s.reply_by) : "today"}. Keep this page open to see when they start.`
    : s.kind === "scheduled"
      ? "The clinic can see that you are here for your appointment. A provider will join you shortly."
      : busier
        ? `We are busier than usual, so your wait may be longer than our ${promised}-minute aim. Keep this page open: it tells you when your provider is ready.`
        : `We aim to have a provider ready for you within ${promised} minutes of check-in.`);
  setText($("waiting_since"), s.waiting_since ? `You joined the line at ${localTime(s.waiting_since)}.` : "");
  renderNotifyControls();
  let sentence = position === null ? "You are in line." : `You are number ${position} in line.`;
  if (eVisit && s.reply_by) sentence += ` A provider will reply by ${localTime(s.reply_by)}.`;
  else if (busier) sentence += ` We are busier than usual: the wait may be longer than ${promised} minutes.`;
  else if (wait !== null) sentence += ` Estimated wait: about ${wait} minute${wait === 1 ? "" : "s"}.`;
  setStatus(sentence, position === null ? "Waiting" : `Number ${position} in line`);
}

function renderReady(s, eVisit) {
  show("ready_banner", true);
  const who = s.provider_name ? s.provider_name : "Your provider";
  if (eVisit) {
    setText($("ready_title"), "A provider is reviewing your E-Visit");
    setText($("ready_text"), `${who} has started on your answers. Keep this page open.`);
    show("join_video", false);
    setStatus("A provider is reviewing your E-Visit.", "Provider reviewing");
    return;
  }
  setText($("ready_title"), s.state === "reconnecting" ? "Your video visit was interrupted" : "Your provider is ready");
  setText($("ready_text"), s.state === "reconnecting"
    ? `${who} is waiting for you to rejoin.`
    : `${who} is ready to see you now. Join the video visit.`);
  show("join_video", true);
  $("join_video").href = `/v/${encodeURIComponent(token)}/video`;
  setText($("join_video"), s.state === "claimed" ? "Join video visit" : "Rejoin video visit");
  setStatus(`Your provider is ready.${s.provider_name ? " " + s.provider_name + " is ready to see you." : ""}`,
    "Your provider is ready");
}

/** After the provider ends the call, while the visit is still open: the patient can go back
 * to the video page, where a call from the provider (Call again) is answered. */
function renderCallEnded(s) {
  show("ready_banner", true);
  const who = s.provider_name ? s.provider_name : "Your provider";
  setText($("ready_title"), "The video call has ended");
  setText($("ready_text"), `${who} is finishing your visit notes. If you were cut off or need to `
    + "talk again, rejoin the video and stay on that page: your provider can call you back.");
  show("join_video", true);
  $("join_video").href = `/v/${encodeURIComponent(token)}/video`;
  setText($("join_video"), "Rejoin video visit");
}

function renderScheduled(s) {
  show("begin_panel", true);
  const complete = Boolean(s.echeckin_complete);
  show("echeckin_panel", !complete);
  show("echeckin_done", complete);
  // eCheck-in opens some days before the appointment: until then, say when.
  const notYet = !complete && s.echeckin_open === false && Boolean(s.echeckin_opens_at);
  show("echeckin_opens", notYet);
  show("echeckin_form", !notYet);
  if (notYet) {
    setText($("echeckin_opens"),
      `eCheck-in opens on ${localDateTime(s.echeckin_opens_at)}. Come back to this page then; `
      + "your link stays the same.");
  }
  if (!complete && !notYet) setupEcheckin(s);
  setText($("appointment_time"), s.scheduled_for
    ? `Your appointment: ${localDateTime(s.scheduled_for)}.` : "");
  const button = $("begin_visit");
  button.disabled = !s.can_begin || state.sending;
  let info;
  if (s.can_begin) {
    info = "You can begin your visit now. A provider will join you shortly.";
  } else {
    info = s.begin_blocked_reason || "You cannot begin this visit yet.";
    if (s.begin_opens_at) info += ` Begin visit opens at ${localDateTime(s.begin_opens_at)}.`;
  }
  setText($("begin_info"), info);
  if (notYet) setStatus(`eCheck-in opens on ${localDateTime(s.echeckin_opens_at)}.`, "eCheck-in not open yet");
  else if (!complete) setStatus("Please complete eCheck-in before your visit.", "eCheck-in");
  else if (s.can_begin) setStatus("eCheck-in is complete. You can begin your visit now.", "Ready to begin");
  else setStatus("eCheck-in is complete. " + info, "Checked in");
}

function scheduleBeginCheck(s) {
  clearTimeout(state.beginTimer);
  if (s.state !== "checking_in" || s.can_begin || !s.echeckin_complete || !s.begin_opens_at) return;
  const ms = new Date(s.begin_opens_at).getTime() - Date.now() + 1500;
  if (!Number.isFinite(ms)) return;
  // The server does not push when the window opens; ask again then (timers cap at ~24 days).
  state.beginTimer = setTimeout(refreshStatus, Math.max(1000, Math.min(ms, 2 ** 31 - 1)));
}

const TERMINAL_TEXT = {
  signed: ["Your visit is complete",
    "Your provider has finished your visit. A summary goes to your health record. If medicine was " +
    "prescribed, it is sent to the pharmacy you chose. You can close this page."],
  redirected: ["Your provider recommends in-person care",
    "Please follow your provider's advice about where to be seen. As agreed at check-in, the " +
    "visit fee is still charged. If you feel worse, call 911."],
  cancelled: ["This visit was cancelled",
    "You are no longer in line. If you still need care, you can start a new check-in."],
  no_show: ["This visit was closed",
    "We could not reach you when your provider was ready. If you still need care, you can start a new check-in."],
  expired: ["This visit has expired",
    "This visit is no longer open. If you still need care, you can start a new check-in."],
};

function renderTerminal(s, previous) {
  const [title, message] = TERMINAL_TEXT[s.state] || ["This visit is over", ""];
  show("terminal_panel", true);
  show("details_panel", s.state === "signed" || s.state === "redirected");
  setText($("terminal_title"), title);
  setText($("terminal_message"), message);
  show("terminal_next", s.state !== "signed" && s.state !== "redirected");
  // The summary comes with the signed visit's status (for summary_days): text, never HTML.
  show("summary_block", typeof s.summary === "string" && s.summary.length > 0);
  setText($("summary_text"), typeof s.summary === "string" ? s.summary : "");
  setText($("summary_until"), s.summary_until_text
    ? `This page keeps your summary and your prescriptions' status until ${s.summary_until_text}. `
      + "Print or save the summary to keep it longer."
    : "");
  setStatus(title + ".", title);
  stopTitleFlash();
  stopSocket();
  // Moved focus only when the visit ends while the page is open, not on arrival.
  if (previous && previous !== s.state) $("terminal_panel").focus();
}

function showExpired(message) {
  stopSocket();
  state.status = null;
  for (const id of ["waiting_panel", "prepare_panel", "ready_banner", "echeckin_panel", "echeckin_done",
    "begin_panel", "leave_panel", "terminal_panel", "details_panel", "load_error"]) show(id, false);
  setText($("visit_subtitle"), "");
  if (message) setText($("expired_message"), message);
  setStatus("This visit link has expired or is not valid.", "Link expired");
  show("expired_panel", true);
  $("expired_panel").focus();
}

// ---- "your provider is ready" -------------------------------------------------------------

function alertReady() {
  if (state.alerted) return;
  state.alerted = true;
  playChime();
  showNotification(state.status && state.status.kind === "e_visit");
  if (document.hidden || !document.hasFocus()) startTitleFlash();
  const banner = $("ready_banner");
  if (!banner.hidden && document.activeElement === document.body) banner.focus();
}

function showNotification(eVisit) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    // No health details on a lock screen: just that someone is ready.
    const note = new Notification(eVisit ? "A provider is reviewing your E-Visit" : "Your provider is ready", {
      body: eVisit ? "Return to the visit page for updates." : "Return to the visit page to join.",
      tag: "visit-ready", requireInteraction: true,
    });
    note.addEventListener("click", () => {
      window.focus();
      note.close();
    });
  } catch {
    /* some mobile browsers allow notifications only from a service worker */
  }
}

function startTitleFlash() {
  if (state.flashTimer) return;
  let on = false;
  state.flashTimer = setInterval(() => {
    on = !on;
    pageTitle(on ? "🔔 Your provider is ready" : state.baseTitle);
  }, 1000);
}

function stopTitleFlash() {
  if (!state.flashTimer) return;
  clearInterval(state.flashTimer);
  state.flashTimer = null;
  pageTitle(state.baseTitle);
}

window.addEventListener("focus", stopTitleFlash);
$("print_summary").addEventListener("click", () => window.print());
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && document.hasFocus()) stopTitleFlash();
});

function renderNotifyControls() {
  const button = $("enable_notifications");
  if (!("Notification" in window)) {
    button.hidden = true;
    setText($("notify_status"), "This browser cannot show notifications. Keep this page open and your sound on.");
    return;
  }
  const permission = Notification.permission;
  button.hidden = permission !== "default";
  setText($("notify_status"), permission === "granted"
    ? "Notifications are on: we will notify you when your provider is ready."
    : permission === "denied"
      ? "Notifications are blocked for this site. Keep this page open and your sound on."
      : "We can also notify you when your provider is ready, even if this page is in the background.");
}

$("enable_notifications").addEventListener("click", async () => {
  try {
    await Notification.requestPermission();
  } catch {
    /* older Safari uses a callback; the state is read again below either way */
  }
  renderNotifyControls();
  if ($("enable_notifications").hidden) $("test_chime").focus();
});

$("test_chime").addEventListener("click", () => {
  playChime();
});

// ---- leaving ------------------------------------------------------------------------------

$("leave").addEventListener("click", async () => {
  const ok = window.confirm("Leave the line? You will lose your place, and a provider will not see you for this visit.");
  if (!ok) return;
  const button = $("leave");
  button.disabled = true;
  $("leave_error").hidden = true;
  try {
    state.status = { ...(state.status || {}), ...(await fetchJSON(api("/cancel"), { body: {} })) };
    render();
  } catch (err) {
    if (err.status === 404) {
      showExpired(err.message);
      return;
    }
    setText($("leave_error_message"), err.message);
    $("leave_error").hidden = false;
  } finally {
    button.disabled = false;
  }
});

// ---- scheduled: eCheck-in and begin -------------------------------------------------------

const EC_FIELDS = {
  forms: "ec_reason",
  "forms.reason": "ec_reason",
  "forms.allergies": "ec_allergies",
  "forms.medications": "ec_medications",
  "forms.pharmacy_id": "ec_pharmacy_search",
  insurance: "ins_payer",
  "insurance.payer": "ins_payer",
  "insurance.member_id": "ins_member_id",
  "insurance.group_number": "ins_group_number",
  "insurance.subscriber_name": "ins_subscriber_name",
  copay: "copay_number",
  "copay.method": "copay_card",
  "copay.number": "copay_number",
  "copay.expiry_month": "copay_exp_month",
  "copay.expiry_year": "copay_exp_year",
  "copay.holder": "copay_holder",
};

let echeckinReady = false;
const ecPharmacy = pharmacyPicker("ec_", { onChoose: () => clearFieldError("ec_pharmacy_search") });
const ecPrimaryCare = primaryCareFields("ec_", $("ec_pcp_host"));
Object.assign(EC_FIELDS, ecPrimaryCare.fieldIds("forms.primary_care"));

function copayDue(s) {
  return s.copay !== null && s.copay !== undefined && Number(s.copay) > 0;
}

function setupEcheckin(s) {
  if (!echeckinReady) {
    fillExpiry($("copay_exp_month"), $("copay_exp_year"));
    clearErrorsOnEdit($("echeckin_form"));
    ecPharmacy.ensureResults();
    echeckinReady = true;
  }
  const due = copayDue(s);
  show("copay_block", due);
  if (due) setText($("copay_amount"), money(s.copay));
  setText($("submit_echeckin"), due ? `Pay ${money(s.copay)} and finish eCheck-in` : "Finish eCheck-in");
}

function v(id) {
  return $(id).value.trim();
}

function validateEcheckin(due) {
  const errors = [];
  if (!v("ec_reason")) errors.push(["ec_reason", "Tell us the reason for your visit."]);
  if (!ecPharmacy.chosen()) errors.push(["ec_pharmacy_search", "Choose a pharmacy from the list."]);
  errors.push(...ecPrimaryCare.validate());
  if (!v("ins_payer")) errors.push(["ins_payer", "Enter your insurance company."]);
  if (!v("ins_member_id")) errors.push(["ins_member_id", "Enter your member ID."]);
  if (!v("ins_subscriber_name")) errors.push(["ins_subscriber_name", "Enter the subscriber's name."]);
  if (due) {
    const digits = v("copay_number").replace(/[\s-]/g, "");
    if (!digits) errors.push(["copay_number", "Enter the card number."]);
    else if (!/^\d+$/.test(digits) || !luhnValid(digits)) {
      errors.push(["copay_number", "Check the card number: it is not a valid card number."]);
    }
    const month = Number($("copay_exp_month").value);
    const year = Number($("copay_exp_year").value);
    if (!month) errors.push(["copay_exp_month", "Choose the expiry month."]);
    if (!year) errors.push(["copay_exp_year", "Choose the expiry year."]);
    const now = new Date();
    if (month && year && (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1))) {
      errors.push(["copay_exp_month", "This card has expired."]);
    }
    if (!v("copay_holder")) errors.push(["copay_holder", "Enter the name on the card."]);
  }
  return errors;
}

function showEcheckinErrors(errors) {
  const sorted = [...errors].sort(byPagePosition);
  for (const [id, message] of sorted) if (id) showFieldError(id, message);
  fillErrorSummary($("echeckin_summary_list"), sorted, focusField);
  $("echeckin_summary").hidden = false;
  const first = sorted.find(([id]) => id && $(id));
  if (first) focusField(first[0]);
  else $("echeckin_summary").focus();
}

function clearEcheckinErrors() {
  clearFieldErrors($("echeckin_form"));
  $("echeckin_summary").hidden = true;
  $("copay_error").hidden = true;
}

$("echeckin_form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.sending || !state.status) return;
  clearEcheckinErrors();
  const due = copayDue(state.status);
  const errors = validateEcheckin(due);
  if (errors.length) {
    showEcheckinErrors(errors);
    return;
  }
  const body = {
    forms: {
      reason: v("ec_reason"), allergies: v("ec_allergies"), medications: v("ec_medications"),
      pharmacy_id: ecPharmacy.chosen() ? ecPharmacy.chosen().id : "",
      primary_care: ecPrimaryCare.value(),
    },
    insurance: {
      payer: v("ins_payer"), member_id: v("ins_member_id"), group_number: v("ins_group_number"),
      subscriber_name: v("ins_subscriber_name"),
    },
  };
  if (due) {
    const method = document.querySelector("input[name=copay_method]:checked");
    body.copay = {
      method: method ? method.value : "card",
      number: v("copay_number").replace(/[\s-]/g, ""),
      expiry_month: Number($("copay_exp_month").value),
      expiry_year: Number($("copay_exp_year").value),
      holder: v("copay_holder"),
    };
  }
  const button = $("submit_echeckin");
  state.sending = true;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  setText($("echeckin_status"), "Sending…");
  try {
    const status = await fetchJSON(api("/echeckin"), { body });
    $("copay_number").value = "";
    setText($("echeckin_status"), "");
    state.status = { ...state.status, ...status };
    state.sending = false;
    render();
    $("begin_title").setAttribute("tabindex", "-1");
    $("begin_title").focus();
  } catch (err) {
    setText($("echeckin_status"), "");
    if (err.status === 404) {
      showExpired(err.message);
    } else if (err.code === "payment_declined") {
      setText($("copay_error_message"), err.message);
      $("copay_error").hidden = false;
      showFieldError("copay_number", "Check the card details, or use another card.");
      $("copay_error").focus();
    } else {
      const errors = Object.entries(err.fields || {})
        .map(([path, message]) => [EC_FIELDS[path] || EC_FIELDS[path.split(".").slice(0, 2).join(".")] || null,
          plainMessage(message), true]);
      if (!errors.some(([id]) => id)) errors.unshift([null, err.message]);
      showEcheckinErrors(errors);
    }
  } finally {
    state.sending = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
});

$("begin_visit").addEventListener("click", async () => {
  if (state.sending) return;
  const button = $("begin_visit");
  state.sending = true;
  button.disabled = true;
  $("begin_error").hidden = true;
  try {
    const status = await fetchJSON(api("/begin"), { body: {} });
    state.status = { ...state.status, ...status };
    state.sending = false;
    render();
    $("status").scrollIntoView({ block: "start" });
  } catch (err) {
    state.sending = false;
    if (err.status === 404) {
      showExpired(err.message);
      return;
    }
    setText($("begin_error_message"), err.message);
    $("begin_error").hidden = false;
    await refreshStatus();
  } finally {
    state.sending = false;
    if (state.status) button.disabled = !state.status.can_begin;
  }
});

$("retry_load").addEventListener("click", load);

window.addEventListener("pageshow", (event) => {
  if (event.persisted && state.status && !state.stopped && !state.ws) connect();
});

unlockAudioOnGesture();
load();
