// The pharmacy search and choice, shared by check-in (/checkin) and a scheduled visit's
// eCheck-in (/v/<token>): a search box, live results as radios, the chosen pharmacy in words.
// The markup is built here, into the page's #${prefix}pharmacy_host, so both pages show the same
// thing. Elements, each id starting with `prefix`: pharmacy_field, pharmacy_search,
// pharmacy_search_hint, pharmacy_status (live region), pharmacy_results (<ul>),
// pharmacy_selected and pharmacy_selected_text. Radios are named `${prefix}pharmacy_id` with ids
// `${prefix}pharmacy_<NCPDP id>`.

import { $, el, setText, fetchJSON, debounce } from "./common.js";

export function pharmacyLine(p) {
  const place = [p.city, [p.state, p.postal_code].filter(Boolean).join(" ")].filter(Boolean).join(", ");
  return [p.address, place].filter(Boolean).join(", ");
}

function build(prefix) {
  const p = (name) => prefix + name;
  $(p("pharmacy_host")).replaceChildren(
    el("div", { id: p("pharmacy_selected"), class: "selected-pharmacy", hidden: true },
      el("p", { class: "status-line" }, "Selected pharmacy:"),
      el("p", { id: p("pharmacy_selected_text") })),
    el("div", { class: "field", id: p("pharmacy_field") },
      el("label", { for: p("pharmacy_search") }, "Search by name, city or ZIP code"),
      el("input", { type: "search", id: p("pharmacy_search"), name: p("pharmacy_search"),
        autocomplete: "off", "data-label": "Pharmacy", enterkeyhint: "search", maxlength: 100,
        "aria-describedby": `${p("pharmacy_search_hint")} ${p("pharmacy_status")}` }),
      el("span", { class: "hint", id: p("pharmacy_search_hint") },
        "Results update as you type. Use the arrow keys to move between them.")),
    el("p", { id: p("pharmacy_status"), class: "muted", role: "status", "aria-live": "polite" }),
    el("fieldset", { id: p("pharmacy_results_group"),
      "aria-labelledby": p("pharmacy_results_legend") },
      el("legend", { id: p("pharmacy_results_legend"), class: "visually-hidden" },
        "Pharmacies found"),
      el("ul", { id: p("pharmacy_results"), class: "pharmacy-results" })));
}

export function pharmacyPicker(prefix, { onChoose = () => {} } = {}) {
  build(prefix);
  const id = (name) => $(prefix + name);
  let chosen = null;
  let abort = null;
  let seq = 0;

  function renderChosen() {
    id("pharmacy_selected").hidden = !chosen;
    if (chosen) setText(id("pharmacy_selected_text"), `${chosen.name}, ${pharmacyLine(chosen)}. Phone ${chosen.phone}.`);
  }

  function render(list) {
    const host = id("pharmacy_results");
    host.replaceChildren();
    for (const p of list) {
      const inputId = `${prefix}pharmacy_${p.id}`;
      const input = el("input", { type: "radio", id: inputId, name: `${prefix}pharmacy_id`, value: p.id });
      input.checked = Boolean(chosen && chosen.id === p.id);
      input.addEventListener("change", () => {
        if (input.checked) {
          chosen = p;
          renderChosen();
          onChoose(p);
        }
      });
      host.append(el("li", {},
        el("label", { class: "choice", for: inputId }, input,
          el("span", { class: "choice-text" },
            el("strong", {}, p.name),
            el("span", { class: "choice-detail" }, pharmacyLine(p)),
            el("span", { class: "choice-detail" }, `Phone ${p.phone}` + (p.hours ? ` · ${p.hours}` : ""))))));
    }
  }

  async function search() {
    const q = id("pharmacy_search").value.trim();
    if (abort) abort.abort();
    const mine = new AbortController();
    abort = mine;
    const n = ++seq;
    setText(id("pharmacy_status"), "Searching…");
    try {
      const data = await fetchJSON("/api/pharmacies?q=" + encodeURIComponent(q), { signal: mine.signal });
      if (n !== seq) return;
      const list = data.pharmacies || [];
      render(list);
      setText(id("pharmacy_status"), !list.length
        ? `No pharmacies match “${q}”. Try a city, a ZIP code or part of the name.`
        : list.length === 1 ? "1 pharmacy found." : `${list.length} pharmacies found.`);
    } catch (err) {
      if ((err && err.name === "AbortError") || n !== seq) return;
      setText(id("pharmacy_status"), "Search failed: " + err.message);
    }
  }

  const searchSoon = debounce(search, 300);
  id("pharmacy_search").addEventListener("input", () => searchSoon());
  id("pharmacy_search").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      searchSoon.cancel();
      search();
    } else if (event.key === "ArrowDown") {
      const target = id("pharmacy_results").querySelector("input:checked")
        || id("pharmacy_results").querySelector("input");
      if (target) {
        event.preventDefault();
        target.focus();
      }
    }
  });

  return {
    chosen: () => chosen,
    setChosen(p) {
      chosen = p || null;
      renderChosen();
    },
    // Show the choice, and a first list of results if none is shown yet.
    ensureResults() {
      renderChosen();
      if (!id("pharmacy_results").children.length) search();
    },
  };
}
