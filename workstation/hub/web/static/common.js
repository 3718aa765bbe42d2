// Shared helpers of the patient pages (ES module, no dependencies).
//
// Rule for every page: text that comes from the patient or the server is rendered with
// textContent (or the el() helper below, which only uses textContent), never innerHTML.

/** An error answered by the hub: {error: {code, message, fields?, ...}}, or a network failure. */
export class ApiError extends Error {
  constructor(status, error) {
    const body = error && typeof error === "object" ? error : {};
    super(typeof body.message === "string" && body.message
      ? body.message
      : "Something went wrong. Please try again.");
    this.name = "ApiError";
    this.status = status; // 0 when the server could not be reached
    this.code = typeof body.code === "string" ? body.code : "error";
    this.fields = body.fields && typeof body.fields === "object" ? body.fields : {};
    this.error = body; // the server's whole error object (outcome, next_opening, ...)
  }
}

/**
 * fetch() a JSON endpoint. Resolves to the parsed body on 2xx (null for 204).
 * Rejects with ApiError carrying the server's error object otherwise.
 * options: {method, body (object, sent as JSON), signal}
 */
export async function fetchJSON(url, options = {}) {
  const init = {
    method: options.method || (options.body === undefined ? "GET" : "POST"),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
    cache: "no-store",
    signal: options.signal,
  };
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0, {
      code: "network",
      message: "We could not reach the clinic. Check your internet connection and try again.",
    });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error ? data.error : {
      code: "http_" + response.status,
      message: response.status >= 500
        ? "Something went wrong on our side. Please try again in a moment."
        : "The request was not accepted (" + response.status + ").",
    };
    throw new ApiError(response.status, error);
  }
  return data;
}

/**
 * Server validation messages in words a patient understands. The hub's own messages are kept;
 * only the generic validator phrases ("String should match pattern '^[0-9]{5}$'") are replaced.
 */
export function plainMessage(message) {
  const text = String(message ?? "");
  const rules = [
    [/^String should match pattern/i, "This is not in the expected format. Check what you typed."],
    [/^String should have at least/i, "This is too short."],
    [/^String should have at most/i, "This is too long."],
    [/^Input should be a valid date/i, "Enter a real date."],
    [/^Input should be a valid (integer|number)/i, "Enter a number."],
    [/^Input should be greater than or equal|^Input should be less than or equal/i, "This value is out of range."],
    [/^Input should be '.*'( or '.*')*$/i, "Choose one of the options."],
    [/^Input should be a valid (string|boolean)/i, "This answer is not valid."],
    [/^Field required$/i, "This is required."],
  ];
  for (const [pattern, plain] of rules) if (pattern.test(text)) return plain;
  return text;
}

/** Escape text for HTML. Prefer textContent; this exists for the rare attribute-in-string. */
export function escapeHTML(value) {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Build an element safely: el("p", {class: "hint", id: "x"}, "text", otherNode).
 * Strings become text nodes; attributes are set with setAttribute; no HTML is parsed.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a node's content with text (or nodes). */
// The demo's hub marks each page as the demo (a banner and the title); a title set later
// keeps the mark.
export function pageTitle(text) {
  const banner = document.querySelector(".demo-banner");
  const mark = banner ? "DEMO — not for clinical use · " : "";
  document.title = mark + text;
}

export function setText(node, ...parts) {
  if (!node) return;
  node.replaceChildren(...parts.flat().filter((p) => p !== null && p !== undefined)
    .map((p) => (p instanceof Node ? p : document.createTextNode(String(p)))));
}

export function $(id) {
  return document.getElementById(id);
}

/** "$49.00" from "49.00" and "USD". */
export function money(amount, currency = "USD") {
  const value = Number(amount);
  if (!Number.isFinite(value)) return String(amount ?? "");
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(value);
  } catch {
    return "$" + value.toFixed(2);
  }
}

// Times are shown in the clinic's time zone (as the clinic says them on the phone and in its
// messages), with the zone's name; the pages set it from the hub's answer.
let siteZone;

/** The site's IANA time zone, e.g. "America/Chicago" (ignored when the browser lacks it). */
export function setSiteZone(zone) {
  if (typeof zone !== "string" || !zone) return;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    siteZone = zone;
  } catch {
    /* an unknown zone: the browser's own, still named */
  }
}

/** A server ISO time in the site's time zone, e.g. "Tue, Nov 24, 3:30 PM CST". */
export function localDateTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return new Intl.DateTimeFormat(undefined, {
    weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
    timeZoneName: "short", timeZone: siteZone,
  }).format(when);
}

export function localTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return new Intl.DateTimeFormat(undefined, {
    hour: "numeric", minute: "2-digit", timeZoneName: "short", timeZone: siteZone,
  }).format(when);
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Luhn check of a card number (digits only). */
export function luhnValid(digits) {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export const US_STATES = [
  ["AL", "Alabama"], ["AK", "Alaska"], ["AZ", "Arizona"], ["AR", "Arkansas"],
  ["CA", "California"], ["CO", "Colorado"], ["CT", "Connecticut"], ["DE", "Delaware"],
  ["DC", "District of Columbia"], ["FL", "Florida"], ["GA", "Georgia"], ["HI", "Hawaii"],
  ["ID", "Idaho"], ["IL", "Illinois"], ["IN", "Indiana"], ["IA", "Iowa"], ["KS", "Kansas"],
  ["KY", "Kentucky"], ["LA", "Louisiana"], ["ME", "Maine"], ["MD", "Maryland"],
  ["MA", "Massachusetts"], ["MI", "Michigan"], ["MN", "Minnesota"], ["MS", "Mississippi"],
  ["MO", "Missouri"], ["MT", "Montana"], ["NE", "Nebraska"], ["NV", "Nevada"],
  ["NH", "New Hampshire"], ["NJ", "New Jersey"], ["NM", "New Mexico"], ["NY", "New York"],
  ["NC", "North Carolina"], ["ND", "North Dakota"], ["OH", "Ohio"], ["OK", "Oklahoma"],
  ["OR", "Oregon"], ["PA", "Pennsylvania"], ["RI", "Rhode Island"], ["SC", "South Carolina"],
  ["SD", "South Dakota"], ["TN", "Tennessee"], ["TX", "Texas"], ["UT", "Utah"],
  ["VT", "Vermont"], ["VA", "Virginia"], ["WA", "Washington"], ["WV", "West Virginia"],
  ["WI", "Wisconsin"], ["WY", "Wyoming"], ["AS", "American Samoa"], ["GU", "Guam"],
  ["MP", "Northern Mariana Islands"], ["PR", "Puerto Rico"], ["VI", "U.S. Virgin Islands"],
];

/** Fill a <select> with the states, after its existing first (placeholder) option. */
export function fillStates(select) {
  for (const [code, name] of US_STATES) {
    select.append(el("option", { value: code }, name));
  }
}

/** Fill month (01–12) and year (this year .. +15) selects for a card expiry. */
export function fillExpiry(monthSelect, yearSelect) {
  for (let m = 1; m <= 12; m += 1) {
    const mm = String(m).padStart(2, "0");
    monthSelect.append(el("option", { value: String(m) }, mm));
  }
  const year = new Date().getFullYear();
  for (let y = year; y <= year + 15; y += 1) {
    yearSelect.append(el("option", { value: String(y) }, String(y)));
  }
}

// ---- sound ------------------------------------------------------------------------------------

let audioContext = null;

/** The page's AudioContext, created lazily. Browsers start it suspended until a user gesture. */
export function getAudioContext() {
  if (!audioContext) {
    const Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    audioContext = new Ctor();
  }
  return audioContext;
}

/** Resume audio on the first click or key press so a later chime can play without one. */
export function unlockAudioOnGesture() {
  const unlock = () => {
    const ctx = getAudioContext();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
    window.removeEventListener("pointerdown", unlock, true);
    window.removeEventListener("keydown", unlock, true);
  };
  window.addEventListener("pointerdown", unlock, true);
  window.addEventListener("keydown", unlock, true);
}

/** A short, gentle two-note chime made with oscillators (no audio file). Returns true if played. */
export function playChime() {
  const ctx = getAudioContext();
  if (!ctx) return false;
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  const start = ctx.currentTime + 0.02;
  const notes = [
    [659.25, 0],     // E5
    [880.0, 0.18],   // A5
    [1318.5, 0.36],  // E6
  ];
  for (const [freq, offset] of notes) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const t = start + offset;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.65);
  }
  return ctx.state === "running";
}

// ---- field errors (shared by the check-in and eCheck-in forms) --------------------------------
//
// A field's error is <span class="error-text" id="<field id>_error"> placed just before the input
// (before the choices of a radio group), referenced by aria-describedby, with aria-invalid set
// and .has-error on the surrounding .field or fieldset.

function groupInputs(input) {
  if (input.type === "radio" && input.form) {
    return [...input.form.querySelectorAll(`input[type=radio][name="${CSS.escape(input.name)}"]`)];
  }
  return [input];
}

function addDescribedBy(node, id) {
  const ids = (node.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  if (!ids.includes(id)) ids.unshift(id);
  node.setAttribute("aria-describedby", ids.join(" "));
}

function removeDescribedBy(node, id) {
  const ids = (node.getAttribute("aria-describedby") || "").split(/\s+/)
    .filter((x) => x && x !== id);
  if (ids.length) node.setAttribute("aria-describedby", ids.join(" "));
  else node.removeAttribute("aria-describedby");
}

/** The name of a field for the error summary: its label, or its group's legend. */
export function fieldLabel(id) {
  const input = document.getElementById(id);
  if (!input) return "";
  if (input.dataset.label) return input.dataset.label;
  if (input.type === "radio") {
    const group = input.closest("fieldset");
    const legend = group && group.querySelector("legend");
    if (legend) return legend.textContent.replace(/\s+/g, " ").trim();
  }
  const label = document.querySelector(`label[for="${CSS.escape(id)}"]`);
  if (!label) return "";
  const copy = label.cloneNode(true);
  copy.querySelectorAll(".optional, .choice-detail").forEach((n) => n.remove());
  return copy.textContent.replace(/\s+/g, " ").trim();
}

/** Put one message next to a field; returns false if there is no such field. */
export function showFieldError(id, message) {
  const input = document.getElementById(id);
  if (!input) return false;
  const errorId = `${id}_error`;
  if (document.getElementById(errorId)) return true; // the first message wins
  const span = el("span", { class: "error-text", id: errorId, "data-error-for": id }, message);
  let anchor = input;
  if (input.type === "radio") anchor = input.closest(".choices") || input;
  else if (input.type === "checkbox") anchor = input.closest("label") || input;
  anchor.before(span);
  const host = input.closest("fieldset.question, .field, fieldset");
  if (host) host.classList.add("has-error");
  for (const node of groupInputs(input)) {
    node.setAttribute("aria-invalid", "true");
    addDescribedBy(node, errorId);
  }
  return true;
}

export function clearFieldError(id) {
  const errorId = `${id}_error`;
  const span = document.getElementById(errorId);
  const input = document.getElementById(id);
  if (span) span.remove();
  // Its line in the error summary goes too; an empty summary is hidden.
  for (const item of [...document.querySelectorAll(`li[data-error-for="${CSS.escape(id)}"]`)]) {
    const summary = item.closest(".error-summary");
    item.remove();
    if (summary && !summary.querySelector("li")) summary.hidden = true;
  }
  if (!input) return;
  const host = input.closest("fieldset.question, .field, fieldset");
  if (host && !host.querySelector(".error-text")) host.classList.remove("has-error");
  for (const node of groupInputs(input)) {
    node.removeAttribute("aria-invalid");
    removeDescribedBy(node, errorId);
  }
}

export function clearFieldErrors(root) {
  for (const span of [...root.querySelectorAll(".error-text[data-error-for]")]) {
    clearFieldError(span.dataset.errorFor);
  }
}

/** Clear a field's error as soon as the patient changes it. */
export function clearErrorsOnEdit(root) {
  const clear = (event) => {
    const t = event.target;
    if (!t || !t.id) return;
    if (t.type === "radio") {
      const first = groupInputs(t)[0];
      if (first && document.getElementById(`${first.id}_error`)) clearFieldError(first.id);
    } else if (document.getElementById(`${t.id}_error`)) {
      clearFieldError(t.id);
    }
  };
  root.addEventListener("input", clear);
  root.addEventListener("change", clear);
}

/** Sort [[id, ...], ...] by where the fields are on the page (unknown ids last). */
export function byPagePosition(a, b) {
  const na = a[0] ? document.getElementById(a[0]) : null;
  const nb = b[0] ? document.getElementById(b[0]) : null;
  if (!na || !nb) return na ? -1 : nb ? 1 : 0;
  return na.compareDocumentPosition(nb) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
}

/**
 * Fill an error summary list. entries: [[id|null, message, withLabel], ...] already sorted.
 * Entries with a field become links; onLink(id) is called when one is followed.
 */
export function fillErrorSummary(list, entries, onLink) {
  list.replaceChildren();
  for (const [id, message, withLabel] of entries) {
    const input = id ? document.getElementById(id) : null;
    if (input) {
      const label = withLabel || input.type === "radio" ? fieldLabel(id) : "";
      const link = el("a", { href: `#${id}` }, label ? `${label}: ${message}` : message);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        onLink(id);
      });
      list.append(el("li", { "data-error-for": id }, link));
    } else {
      list.append(el("li", {}, message));
    }
  }
}

/** Focus a field (the checked radio of a group), scrolling its error into view. */
export function focusField(id) {
  const input = document.getElementById(id);
  if (!input) return;
  let target = input;
  if (input.type === "radio") target = groupInputs(input).find((n) => n.checked) || input;
  const anchor = document.getElementById(`${id}_error`) || target;
  anchor.scrollIntoView({ block: "center" });
  target.focus({ preventScroll: true });
}

// A socket or data-channel message as an object, or null for anything that is not a JSON
// object (a bad message is dropped, never thrown).
export function parseMessage(data) {
  try {
    const message = JSON.parse(data);
    return message && typeof message === "object" && !Array.isArray(message) ? message : null;
  } catch {
    return null;
  }
}

/**
 * Resolves once the peer connection's ICE gathering is complete, or after timeoutMs with what
 * it has (host candidates at least): the workstation's aiortc takes complete descriptions only.
 */
export function iceGathered(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, timeoutMs);
  });
}
