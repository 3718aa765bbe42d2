// Check-in page (/checkin): eligibility -> about you -> pharmacy -> consent -> payment.
//
// Element ids for browser tests, in the order a patient meets them:
//   #closed_notice (shown instead of the form when GET /api/site says open_now=false)
//   Step 1 #step_eligibility: #condition (select), #mode_video / #mode_e_visit (radios name="mode",
//     only shown for E-Visit conditions), #dob (input type=date, YYYY-MM-DD),
//     red flags: radios name="rf_<code>" with ids #rf_<code>_yes / #rf_<code>_no, #next_eligibility
//     Not eligible -> #ineligible (#ineligible_message, #call_911 for emergencies, #start_over)
//   Step 2 #step_details: #given_name #family_name #sex(select) #phone #email #address_line1
//     #address_line2 #address_city #address_state(select) #address_postal_code #symptoms #onset
//     #allergies #medications #location_state(select) #callback_phone, #back_details #next_details
//   Step 3 #step_pharmacy: #pharmacy_search, results are radios name="pharmacy_id" with ids
//     #pharmacy_<ncpdp id>, #pharmacy_status (live), #pharmacy_selected, #back_pharmacy #next_pharmacy;
//     then the primary care provider (primary-care.js, into #pcp_host): #pcp_has_yes ...
//   Step 4 #step_consent: #consent_text, #consent (checkbox), #back_consent #next_consent
//   Step 5 #step_payment: #fee_text, #pay_card / #pay_hsa (radios name="payment_method"),
//     #card_number #card_exp_month(select, 1-12) #card_exp_year(select) #card_holder,
//     #submit_checkin, #back_payment, #payment_error (402), #submit_status (live)
//   Errors: #error_summary (links to fields); each field error is #<field id>_error.
//
// Answers (never the card fields) are kept in sessionStorage under STORE_KEY until check-in
// succeeds, so a reload does not lose them.

import {
  $, el, setText, fetchJSON, money, debounce, luhnValid, fillStates, fillExpiry,
  plainMessage, showFieldError, clearFieldError, clearFieldErrors, clearErrorsOnEdit, byPagePosition,
  fillErrorSummary, focusField, ApiError, pageTitle,
} from "./common.js";
import { pharmacyPicker } from "./pharmacy-picker.js";
import { primaryCareFields } from "./primary-care.js";

const STORE_KEY = "workstation.checkin.v1";
// This check-in's idempotency key: sent with every try, so a retry after a lost answer (or a
// reload) is the same check-in, one visit and one charge. Kept for the tab until it succeeds.
const KEY_STORE = "workstation.checkin.key";
// About three minutes in all: longer than a payment the clinic's hub left half-done (if it
// stopped) is kept busy.
const RETRY_WAITS_MS = [1000, 2000, 4000, 8000, 15000, 30000, 30000, 30000, 30000, 30000];
const STEP_IDS = ["step_eligibility", "step_details", "step_pharmacy", "step_consent", "step_payment"];
const PHONE_RE = /^[0-9+()\-. ]{7,25}$/;
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const ZIP_RE = /^[0-9]{5}(-[0-9]{4})?$/;

// Server field paths -> element ids (red_flags.<code> is handled in idForPath).
const FIELD_IDS = {
  condition: "condition",
  mode: "mode_video",
  date_of_birth: "dob",
  red_flags: null, // first red-flag radio, filled in after loading
  patient: "given_name",
  "patient.given_name": "given_name",
  "patient.family_name": "family_name",
  "patient.date_of_birth": "dob",
  "patient.sex": "sex",
  "patient.phone": "phone",
  "patient.email": "email",
  "patient.address": "address_line1",
  "patient.address.line1": "address_line1",
  "patient.address.line2": "address_line2",
  "patient.address.city": "address_city",
  "patient.address.state": "address_state",
  "patient.address.postal_code": "address_postal_code",
  symptoms: "symptoms",
  onset: "onset",
  allergies: "allergies",
  medications: "medications",
  consent_telehealth: "consent",
  callback_phone: "callback_phone",
  pharmacy_id: "pharmacy_search",
  location_state: "location_state",
  payment: "card_number",
  "payment.method": "pay_card",
  "payment.number": "card_number",
  "payment.expiry_month": "card_exp_month",
  "payment.expiry_year": "card_exp_year",
  "payment.holder": "card_holder",
};

const state = {
  site: null,
  conditions: [],
  redFlags: [],
  step: 0,
  maxStep: 0, // the furthest step the patient may open (answers before it were accepted)
  pharmacy: null,
  sending: false,
  lastPhone: "",
  loaded: false, // answers are only saved once the saved ones have been restored
  done: false, // checked in: nothing more to save
  checking: false, // eligibility request in flight
  checkinKey: null, // this check-in's idempotency key (also in sessionStorage)
  payment: "simulated", // how the fee is taken: simulated, stripe or none (site.payment)
  processor: null, // Stripe.js and its card element, when the clinic uses Stripe
  processorCard: null,
};

const form = $("checkin_form");

// ---- loading ------------------------------------------------------------------------------

async function load() {
  $("page_loading").hidden = false;
  $("load_error").hidden = true;
  let site, conditions, flags;
  try {
    [site, conditions, flags] = await Promise.all([
      fetchJSON("/api/site"), fetchJSON("/api/conditions"), fetchJSON("/api/red-flags"),
    ]);
  } catch (err) {
    $("page_loading").hidden = true;
    setText($("load_error_message"), err.message);
    $("load_error").hidden = false;
    return;
  }
  $("page_loading").hidden = true;
  state.site = site;
  state.conditions = conditions.conditions || [];
  state.redFlags = flags.red_flags || [];
  if (site.site_name) {
    setText($("site_name"), site.site_name);
    pageTitle("Check in for a video visit — " + site.site_name);
  }

  if (!site.open_now) {
    showClosed(site);
    return;
  }
  renderStaticText(site);
  renderConditions();
  renderRedFlags();
  fillStates($("address_state"));
  fillStates($("location_state"));
  fillExpiry($("card_exp_month"), $("card_exp_year"));
  FIELD_IDS.red_flags = state.redFlags.length ? `rf_${state.redFlags[0].code}_yes` : "condition";

  const saved = readSaved();
  if (saved) restore(saved);
  primaryCare.sync();
  state.loaded = true;
  updateModeVisibility();
  state.lastPhone = $("phone").value;

  form.hidden = false;
  const wanted = history.state && Number.isInteger(history.state.checkinStep)
    ? history.state.checkinStep : (saved && saved.step) || 0;
  const step = Math.max(0, Math.min(wanted, state.maxStep));
  history.replaceState({ checkinStep: step }, "");
  showStep(step, { focus: false });
  if (step === 2) ensurePharmacyResults();
}

function showClosed(site) {
  setText($("closed_message"), site.closed_message || "Video visits are closed right now.");
  setText($("closed_hours"), site.hours_text ? "Opening hours: " + site.hours_text : "");
  $("closed_notice").hidden = false;
}

function renderStaticText(site) {
  const fee = money(site.fee, site.currency || "USD");
  const age = site.minimum_age || 18;
  const wait = site.promised_wait_minutes || 20;
  setText($("min_age"), String(age));
  setText($("intro_text"),
    `For adults ${age} and older with one of the conditions listed below. ` +
    `Once you have checked in, we aim to have a provider ready for you within ${wait} minutes. ` +
    `The visit costs ${fee}, paid at check-in; it is not billed to insurance.`);
  setText($("consent_text"), site.consent_text || "");
  setText($("fee_amount"), fee);
  setText($("submit_checkin"), `Pay ${fee} and check in`);
  const payment = site.payment || { processor: "simulated" };
  state.payment = payment.processor;
  if (payment.processor === "none") {
    // The clinic takes the fee another way, in its own words.
    setText($("step_payment_title"), "Check in");
    setText($("payment_note"), payment.note || "");
    $("no_fee_online").hidden = false;
    for (const id of ["payment_method_group", "card_fields", "card_holder_field", "card_privacy"]) {
      $(id).hidden = true;
    }
    setText($("intro_text"),
      `For adults ${age} and older with one of the conditions listed below. ` +
      `Once you have checked in, we aim to have a provider ready for you within ${wait} minutes. ` +
      `The visit costs ${fee}; it is not billed to insurance. ${payment.note || ""}`);
    setText($("submit_checkin"), "Check in");
  } else if (payment.processor === "stripe") {
    $("card_fields").hidden = true;
    $("processor_field").hidden = false;
    mountProcessorCard(payment).catch(() => {
      setText($("payment_error_message"), "The payment box could not be loaded. Check your "
        + "internet connection and reload this page.");
      $("payment_error").hidden = false;
    });
  }
  $("dob").max = new Date().toISOString().slice(0, 10);
}

/** Stripe's own card element, from Stripe's script: the number never reaches this page's hub. */
async function mountProcessorCard(payment) {
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = payment.js_url;
    script.addEventListener("load", resolve);
    script.addEventListener("error", reject);
    document.head.append(script);
  });
  state.processor = window.Stripe(payment.publishable_key);
  state.processorCard = state.processor.elements().create("card");
  state.processorCard.mount("#processor_card");
}

/** The card as Stripe's element made it known: its PaymentMethod, or an error to show. */
async function processorPayment() {
  if (!state.processorCard) {
    throw new ApiError(0, { code: "payment_declined",
      message: "The payment box is not ready. Reload this page and try again." });
  }
  const result = await state.processor.createPaymentMethod({
    type: "card", card: state.processorCard, billing_details: { name: value("card_holder") } });
  if (result.error) {
    throw new ApiError(402, { code: "payment_declined",
      message: result.error.message || "Check the card details, or use another card." });
  }
  return { method: radioValue("payment_method") || "card", holder: value("card_holder"),
           payment_method: result.paymentMethod.id, last4: result.paymentMethod.card.last4 };
}

function renderConditions() {
  const select = $("condition");
  for (const c of state.conditions) {
    select.append(el("option", { value: c.code }, c.name));
  }
}

function renderRedFlags() {
  const host = $("red_flags");
  host.replaceChildren();
  for (const flag of state.redFlags) {
    const name = `rf_${flag.code}`;
    const legendId = `${name}_legend`;
    host.append(el("fieldset", { class: "question", id: `${name}_group` },
      el("legend", { id: legendId }, flag.question),
      el("div", { class: "choices inline" },
        el("label", { class: "choice", for: `${name}_yes` },
          el("input", { type: "radio", id: `${name}_yes`, name, value: "yes", required: true }),
          el("span", { class: "choice-text" }, "Yes")),
        el("label", { class: "choice", for: `${name}_no` },
          el("input", { type: "radio", id: `${name}_no`, name, value: "no", required: true }),
          el("span", { class: "choice-text" }, "No")))));
  }
}

function selectedCondition() {
  return state.conditions.find((c) => c.code === $("condition").value) || null;
}

function updateModeVisibility() {
  const condition = selectedCondition();
  const offer = Boolean(condition && condition.e_visit);
  $("mode_group").hidden = !offer;
  if (!offer) $("mode_video").checked = true;
}

// ---- steps --------------------------------------------------------------------------------

function showStep(index, { focus = true, push = false } = {}) {
  state.step = index;
  STEP_IDS.forEach((id, i) => { $(id).hidden = i !== index; });
  setText($("step_indicator"), `Step ${index + 1} of ${STEP_IDS.length}`);
  for (const li of document.querySelectorAll(".progress-bar li")) {
    const n = Number(li.dataset.step);
    li.className = n < index ? "done" : n === index ? "current" : "";
  }
  if (push) history.pushState({ checkinStep: index }, "");
  else history.replaceState({ checkinStep: index }, "");
  saveAnswers();
  if (focus) {
    const heading = $(`${STEP_IDS[index]}_title`);
    heading.focus();
    heading.scrollIntoView({ block: "start" });
  }
}

function stepOf(element) {
  const section = element && element.closest("section.step");
  return section ? Number(section.dataset.step) : state.step;
}

window.addEventListener("popstate", (event) => {
  if (form.hidden) return;
  const wanted = event.state && Number.isInteger(event.state.checkinStep)
    ? event.state.checkinStep : 0;
  clearErrors();
  const step = Math.min(wanted, state.maxStep);
  showStep(step);
  if (step === 2) ensurePharmacyResults();
});

async function goNext() {
  if (state.checking || state.sending) return;
  const index = state.step;
  clearErrors();
  const errors = validateStep(index);
  if (errors.length) {
    showErrors(errors);
    return;
  }
  if (index === 0) {
    const ok = await checkEligibility();
    if (!ok) return;
  }
  state.maxStep = Math.max(state.maxStep, index + 1);
  showStep(index + 1, { push: true });
  if (index + 1 === 2) ensurePharmacyResults();
}

function goBack() {
  clearErrors();
  if (state.step > 0) showStep(state.step - 1, { push: true });
}

// ---- validation ---------------------------------------------------------------------------

function value(id) {
  return $(id).value.trim();
}

function radioValue(name) {
  const checked = form.querySelector(`input[type=radio][name="${name}"]:checked`);
  return checked ? checked.value : "";
}

function validPhone(text) {
  return PHONE_RE.test(text) && (text.match(/\d/g) || []).length >= 7;
}

function validateStep(index) {
  const errors = [];
  const need = (id, message) => { if (!value(id)) errors.push([id, message]); };
  if (index === 0) {
    need("condition", "Choose what you need care for.");
    const dob = $("dob").value;
    if (!dob) {
      errors.push(["dob", "Enter your date of birth."]);
    } else {
      const when = new Date(dob + "T00:00:00");
      if (Number.isNaN(when.getTime()) || !/^\d{4}-\d{2}-\d{2}$/.test(dob)) {
        errors.push(["dob", "Enter a real date, for example 03/14/1985."]);
      } else if (when > new Date()) {
        errors.push(["dob", "Your date of birth must be in the past."]);
      } else if (when.getFullYear() < 1900) {
        errors.push(["dob", "Enter a date of birth after 1900."]);
      }
    }
    for (const flag of state.redFlags) {
      if (!radioValue(`rf_${flag.code}`)) {
        errors.push([`rf_${flag.code}_yes`, "Answer yes or no."]);
      }
    }
  } else if (index === 1) {
    need("given_name", "Enter your first name.");
    need("family_name", "Enter your last name.");
    need("sex", "Choose an answer.");
    if (!value("phone")) errors.push(["phone", "Enter your phone number."]);
    else if (!validPhone(value("phone"))) {
      errors.push(["phone", "Enter a phone number using digits, like 512-555-0142."]);
    }
    if (value("email") && !EMAIL_RE.test(value("email"))) {
      errors.push(["email", "Enter an email address like name@example.com, or leave it blank."]);
    }
    need("address_line1", "Enter your street address.");
    need("address_city", "Enter your city.");
    need("address_state", "Choose your state.");
    if (!value("address_postal_code")) errors.push(["address_postal_code", "Enter your ZIP code."]);
    else if (!ZIP_RE.test(value("address_postal_code"))) {
      errors.push(["address_postal_code", "Enter a 5-digit ZIP code, like 78701."]);
    }
    need("symptoms", "Describe your symptoms.");
    need("onset", "Say when your symptoms started.");
    need("location_state", "Choose the state you are in right now.");
    if (!value("callback_phone")) {
      errors.push(["callback_phone", "Enter a phone number to reach you during the visit."]);
    } else if (!validPhone(value("callback_phone"))) {
      errors.push(["callback_phone", "Enter a phone number using digits, like 512-555-0142."]);
    }
  } else if (index === 2) {
    if (!state.pharmacy) errors.push(["pharmacy_search", "Choose a pharmacy from the list."]);
    errors.push(...primaryCare.validate());
  } else if (index === 3) {
    if (!$("consent").checked) {
      errors.push(["consent", "Check the box to agree before you continue."]);
    }
  } else if (index === 4 && state.payment === "none") {
    // Nothing to pay here.
  } else if (index === 4 && state.payment === "stripe") {
    need("card_holder", "Enter the name on the card.");
  } else if (index === 4) {
    const digits = value("card_number").replace(/[\s-]/g, "");
    if (!digits) errors.push(["card_number", "Enter the card number."]);
    else if (!/^\d+$/.test(digits)) {
      errors.push(["card_number", "The card number may contain digits, spaces and dashes only."]);
    } else if (!luhnValid(digits)) {
      errors.push(["card_number", "Check the card number: it is not a valid card number."]);
    }
    const month = Number($("card_exp_month").value);
    const year = Number($("card_exp_year").value);
    if (!month) errors.push(["card_exp_month", "Choose the expiry month."]);
    if (!year) errors.push(["card_exp_year", "Choose the expiry year."]);
    if (month && year) {
      const now = new Date();
      if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
        errors.push(["card_exp_month", "This card has expired."]);
      }
    }
    need("card_holder", "Enter the name on the card.");
  }
  return errors;
}

// ---- showing errors -----------------------------------------------------------------------

function clearErrors() {
  clearFieldErrors(form);
  $("error_summary").hidden = true;
  $("error_summary_list").replaceChildren();
  $("payment_error").hidden = true;
}

function goToField(id) {
  const input = $(id);
  if (!input) return;
  const step = stepOf(input);
  if (step !== state.step) showStep(step, { focus: false, push: true });
  focusField(id);
}

/**
 * errors: [[elementId|null, message, withLabel], ...]. Shows each next to its field and all of
 * them in the summary at the top, opens the step of the first one and focuses that field.
 */
function showErrors(errors) {
  const sorted = [...errors].sort(byPagePosition);
  for (const [id, message] of sorted) if (id) showFieldError(id, message);
  fillErrorSummary($("error_summary_list"), sorted, goToField);
  $("error_summary").hidden = false;
  const first = sorted.find(([id]) => id && $(id));
  if (first) {
    goToField(first[0]);
  } else {
    $("error_summary").focus();
    $("error_summary").scrollIntoView({ block: "start" });
  }
}

clearErrorsOnEdit(form);
form.addEventListener("change", (event) => {
  const t = event.target;
  if (t && t.name === "pharmacy_id" && $("pharmacy_search_error")) clearFieldError("pharmacy_search");
  if (t && t.id === "card_exp_year" && $("card_exp_month_error")) clearFieldError("card_exp_month");
});

// ---- eligibility --------------------------------------------------------------------------

function redFlagAnswers() {
  const answers = {};
  for (const flag of state.redFlags) answers[flag.code] = radioValue(`rf_${flag.code}`) === "yes";
  return answers;
}

async function checkEligibility() {
  const button = $("next_eligibility");
  state.checking = true;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const result = await fetchJSON("/api/eligibility", {
      body: { date_of_birth: $("dob").value, condition: $("condition").value,
              red_flags: redFlagAnswers() },
    });
    if (!result.eligible) {
      showIneligible(result.outcome, result.message);
      return false;
    }
    return true;
  } catch (err) {
    handleServerError(err);
    return false;
  } finally {
    state.checking = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

const INELIGIBLE_TITLES = {
  emergency: "This may be an emergency",
  too_young: "Video visits are for adults only",
  not_listed: "We can't treat this by video",
  closed: "Video visits are closed right now",
};

/** The refusal, in the hub's words (a closed site names its next opening once, in site time). */
function showIneligible(outcome, message) {
  const emergency = outcome === "emergency";
  form.hidden = true;
  $("ineligible_box").className = emergency ? "alert emergency" : "alert warning";
  setText($("ineligible_title"), INELIGIBLE_TITLES[outcome] || "A video visit is not right for this");
  setText($("ineligible_message"), message || "");
  $("call_911").hidden = !emergency;
  // The hub adds the Suicide & Crisis Lifeline to the message for thoughts of self-harm.
  $("call_988").hidden = !(emergency && /\b988\b/.test(message || ""));
  setText($("start_over"), emergency ? "I answered by mistake — start over" : "Start over");
  state.maxStep = 0;
  saveAnswers();
  $("ineligible").hidden = false;
  $("ineligible").focus();
  window.scrollTo(0, 0);
}

$("start_over").addEventListener("click", () => {
  try { sessionStorage.removeItem(STORE_KEY); } catch { /* storage may be unavailable */ }
  history.replaceState(null, "");
  location.reload();
});

// ---- pharmacy -----------------------------------------------------------------------------

// The patient's own doctor, asked on the pharmacy step (built here, shared with eCheck-in).
const primaryCare = primaryCareFields("", $("pcp_host"));
Object.assign(FIELD_IDS, primaryCare.fieldIds("primary_care"));

const pharmacy = pharmacyPicker("", {
  onChoose(p) {
    state.pharmacy = p;
    saveAnswers();
  },
});

function ensurePharmacyResults() {
  pharmacy.setChosen(state.pharmacy);
  pharmacy.ensureResults();
}

// ---- saving answers across a reload -------------------------------------------------------

const NOT_SAVED = new Set(["pharmacy_id"]);

function saveAnswers() {
  if (!state.loaded || state.done) return;
  const values = {};
  for (const node of form.elements) {
    if (!node.name || NOT_SAVED.has(node.name) || node.hasAttribute("data-nostore")) continue;
    if (node.type === "submit" || node.type === "button") continue;
    if (node.type === "radio") {
      if (node.checked) values[node.name] = node.value;
    } else if (node.type === "checkbox") {
      values[node.name] = node.checked;
    } else {
      values[node.name] = node.value;
    }
  }
  const data = { v: 1, values, step: state.step, maxStep: state.maxStep, pharmacy: state.pharmacy };
  try {
    sessionStorage.setItem(STORE_KEY, JSON.stringify(data));
  } catch { /* private mode or full: answers simply are not kept */ }
}

function readSaved() {
  try {
    const data = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    return data && data.v === 1 ? data : null;
  } catch {
    return null;
  }
}

function restore(saved) {
  const values = saved.values || {};
  for (const [name, val] of Object.entries(values)) {
    const nodes = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
    for (const node of nodes) {
      if (node.hasAttribute("data-nostore")) continue;
      if (node.type === "radio") node.checked = node.value === val;
      else if (node.type === "checkbox") node.checked = Boolean(val);
      else node.value = typeof val === "string" ? val : "";
    }
  }
  if (saved.pharmacy && typeof saved.pharmacy === "object" && saved.pharmacy.id) {
    state.pharmacy = saved.pharmacy;
  }
  state.maxStep = Number.isInteger(saved.maxStep) ? Math.max(0, Math.min(saved.maxStep, 4)) : 0;
}

const saveSoon = debounce(saveAnswers, 250);
form.addEventListener("input", saveSoon);
form.addEventListener("change", (event) => {
  const t = event.target;
  // Changing an eligibility answer means it has to be checked again.
  if (t && stepOf(t) === 0 && state.maxStep > 0) state.maxStep = 0;
  if (t && t.id === "condition") updateModeVisibility();
  saveSoon();
});

// Offer the main phone number as the callback number unless the patient typed another one.
$("phone").addEventListener("change", () => {
  const callback = $("callback_phone");
  if (!callback.value.trim() || callback.value.trim() === state.lastPhone.trim()) {
    callback.value = $("phone").value;
  }
  state.lastPhone = $("phone").value;
});

// ---- submitting ---------------------------------------------------------------------------

function checkinBody() {
  const condition = selectedCondition();
  const mode = condition && condition.e_visit && radioValue("mode") === "e_visit" ? "e_visit" : "video";
  return {
    patient: {
      given_name: value("given_name"),
      family_name: value("family_name"),
      date_of_birth: $("dob").value,
      sex: $("sex").value,
      phone: value("phone"),
      email: value("email"),
      address: {
        line1: value("address_line1"),
        line2: value("address_line2"),
        city: value("address_city"),
        state: $("address_state").value,
        postal_code: value("address_postal_code"),
      },
    },
    condition: $("condition").value,
    mode,
    symptoms: $("symptoms").value.trim(),
    onset: value("onset"),
    allergies: $("allergies").value.trim(),
    medications: $("medications").value.trim(),
    red_flags: redFlagAnswers(),
    consent_telehealth: $("consent").checked,
    callback_phone: value("callback_phone"),
    pharmacy_id: state.pharmacy ? state.pharmacy.id : "",
    primary_care: primaryCare.value(),
    location_state: $("location_state").value,
    idempotency_key: checkinKey(),
    payment: {
      method: radioValue("payment_method") || "card",
      number: value("card_number").replace(/[\s-]/g, ""),
      expiry_month: Number($("card_exp_month").value) || 0,
      expiry_year: Number($("card_exp_year").value) || 0,
      holder: value("card_holder"),
    },
  };
}

function idForPath(path) {
  if (Object.prototype.hasOwnProperty.call(FIELD_IDS, path)) return FIELD_IDS[path];
  const rf = /^red_flags\.(.+)$/.exec(path);
  if (rf && $(`rf_${rf[1]}_yes`)) return `rf_${rf[1]}_yes`;
  // A deeper path than we know (e.g. "payment.number.0"): use its nearest known parent.
  const parts = path.split(".");
  while (parts.length > 1) {
    parts.pop();
    const parent = parts.join(".");
    if (FIELD_IDS[parent]) return FIELD_IDS[parent];
  }
  return null;
}

/** Show an ApiError from the server at the right place. */
function handleServerError(err) {
  if (err.code === "ineligible") {
    showIneligible(err.error.outcome, err.message);
    return;
  }
  if (err.code === "payment_declined") {
    setText($("payment_error_message"), err.message);
    $("payment_error").hidden = false;
    if (state.step !== 4) showStep(4, { focus: false, push: true });
    showFieldError("card_number", "Check the card details, or use another card.");
    $("payment_error").focus();
    $("payment_error").scrollIntoView({ block: "center" });
    return;
  }
  const errors = [];
  for (const [path, message] of Object.entries(err.fields || {})) {
    errors.push([idForPath(path), plainMessage(message), true]);
  }
  if (!errors.length) errors.push([null, err.message]);
  else if (!errors.some(([id]) => id && $(id))) errors.unshift([null, err.message]);
  showErrors(errors);
}

function checkinKey() {
  let key = null;
  try { key = sessionStorage.getItem(KEY_STORE); } catch { /* private mode: one per page */ }
  if (!key || !/^[0-9a-f-]{36}$/.test(key)) {
    key = state.checkinKey || crypto.randomUUID();
    try { sessionStorage.setItem(KEY_STORE, key); } catch { /* kept in state below */ }
  }
  state.checkinKey = key;
  return key;
}

/** Post the check-in; when the answer is lost or the clinic is busy, the same check-in again. */
async function sendCheckin(body) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fetchJSON("/api/checkins", { body });
    } catch (err) {
      const again = err.status === 0 || err.status >= 500 || err.code === "in_progress";
      if (!again || attempt >= RETRY_WAITS_MS.length) throw err;
      setText($("submit_status"), "The clinic has not answered yet. Trying again; your card "
        + "is charged only once…");
      await new Promise((resolve) => { setTimeout(resolve, RETRY_WAITS_MS[attempt]); });
    }
  }
}

async function submitCheckin() {
  if (state.sending) return;
  clearErrors();
  // Every step again, in case an earlier one was skipped by a restored history entry.
  for (let i = 0; i < STEP_IDS.length; i += 1) {
    const errors = validateStep(i);
    if (errors.length) {
      showErrors(errors);
      return;
    }
  }
  const button = $("submit_checkin");
  state.sending = true;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  setText($("submit_status"), "Sending your check-in and payment. Please wait…");
  try {
    const body = checkinBody();
    if (state.payment === "none") delete body.payment;
    else if (state.payment === "stripe") body.payment = await processorPayment();
    const result = await sendCheckin(body);
    state.done = true;
    try {
      sessionStorage.removeItem(STORE_KEY);
      sessionStorage.removeItem(KEY_STORE);
    } catch { /* nothing to clear */ }
    for (const id of ["card_number", "card_holder"]) $(id).value = "";
    setText($("submit_status"), "You are checked in. Opening your waiting room…");
    const url = typeof result.visit_url === "string" && result.visit_url.startsWith("/v/")
      ? result.visit_url : "/v/" + encodeURIComponent(result.visit_token);
    location.assign(url);
  } catch (err) {
    state.sending = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    setText($("submit_status"), "");
    handleServerError(err);
  }
}

// ---- wiring -------------------------------------------------------------------------------

form.addEventListener("submit", (event) => {
  event.preventDefault();
  // Enter in a field moves on a step; on the last step it submits.
  if (state.step < STEP_IDS.length - 1) goNext();
  else submitCheckin();
});

$("next_eligibility").addEventListener("click", goNext);
$("next_details").addEventListener("click", goNext);
$("next_pharmacy").addEventListener("click", goNext);
$("next_consent").addEventListener("click", goNext);
$("back_details").addEventListener("click", goBack);
$("back_pharmacy").addEventListener("click", goBack);
$("back_consent").addEventListener("click", goBack);
$("back_payment").addEventListener("click", goBack);
$("retry_load").addEventListener("click", load);
window.addEventListener("pagehide", saveAnswers);
// Coming back (browser Back) to a check-in that already went through: start fresh.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && state.done) location.replace("/checkin");
});

load();
