// The patient's primary care provider (their own doctor), shared by check-in (/checkin) and a
// scheduled visit's eCheck-in (/v/<token>). The fields are built here, into a host element,
// so both pages ask the same questions in the same words:
//   ${prefix}pcp_has_yes / ${prefix}pcp_has_no (radios), then ${prefix}pcp_name,
//   ${prefix}pcp_practice, ${prefix}pcp_phone, ${prefix}pcp_fax, ${prefix}pcp_direct and the
//   permission ${prefix}pcp_share (checkbox) inside #${prefix}pcp_details.

import { $, el } from "./common.js";

const PHONE_RE = /^[0-9+()\-. ]{7,25}$/;
const DIRECT_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function field(id, label, { hint = "", optional = false, type = "text", autocomplete = "off",
  maxlength = 120 } = {}) {
  const hintId = hint ? `${id}_hint` : null;
  return el("div", { class: "field" },
    el("label", { for: id }, label, optional ? el("span", { class: "optional" }, " (optional)") : null),
    hint ? el("span", { class: "hint", id: hintId }, hint) : null,
    el("input", { type, id, name: id, maxlength, autocomplete, "aria-describedby": hintId }));
}

export function primaryCareFields(prefix, host) {
  const id = (name) => `${prefix}${name}`;
  const details = el("div", { id: id("pcp_details"), hidden: true },
    field(id("pcp_name"), "Your doctor's name", { hint: "For example: Dr. Ana Ruiz" }),
    field(id("pcp_practice"), "Practice or clinic"),
    field(id("pcp_phone"), "Practice phone", { type: "tel", maxlength: 25,
      hint: "Give the phone or the fax number, or both." }),
    field(id("pcp_fax"), "Practice fax", { type: "tel", maxlength: 25, optional: true }),
    field(id("pcp_direct"), "Direct secure email address", { type: "email", maxlength: 254,
      optional: true, hint: "Only if the practice gave you one; it ends like @direct.example.org." }),
    el("div", { class: "field" },
      el("label", { class: "choice", for: id("pcp_share") },
        el("input", { type: "checkbox", id: id("pcp_share"), name: id("pcp_share"),
          "data-label": "Permission to share" }),
        el("span", { class: "choice-text" },
          "Send a summary of this visit to my doctor. ",
          el("span", { class: "choice-detail" },
            "Leave this unchecked if you do not want your doctor to receive it.")))));
  const radio = (value, text) => el("label", { class: "choice", for: id(`pcp_has_${value}`) },
    el("input", { type: "radio", id: id(`pcp_has_${value}`), name: id("pcp_has"), value }),
    el("span", { class: "choice-text" }, text));
  host.replaceChildren(
    el("fieldset", { class: "field", id: id("pcp_group") },
      el("legend", {}, "Do you have a primary care provider (your own doctor)?"),
      el("span", { class: "hint" }, "They can receive a summary of this visit, if you allow it."),
      el("div", { class: "choices" }, radio("yes", "Yes"), radio("no", "No, or I'd rather not say"))),
    details);
  const has = () => $(id("pcp_has_yes")).checked;
  const sync = () => { details.hidden = !has(); };
  for (const value of ["yes", "no"]) $(id(`pcp_has_${value}`)).addEventListener("change", sync);

  const v = (name) => $(id(name)).value.trim();
  return {
    /** After restoring saved answers: show the details if "Yes" is checked. */
    sync,
    /** [[field id, message], ...] for what is missing or wrong. */
    validate() {
      const errors = [];
      if (!has()) return errors;
      if (!v("pcp_name")) errors.push([id("pcp_name"), "Enter your doctor's name."]);
      if (!v("pcp_practice")) errors.push([id("pcp_practice"), "Enter the practice or clinic."]);
      if (!v("pcp_phone") && !v("pcp_fax")) {
        errors.push([id("pcp_phone"), "Enter the practice's phone or fax number."]);
      }
      if (v("pcp_phone") && !PHONE_RE.test(v("pcp_phone"))) {
        errors.push([id("pcp_phone"), "Enter a phone number using digits, like 512-555-0142."]);
      }
      if (v("pcp_fax") && !PHONE_RE.test(v("pcp_fax"))) {
        errors.push([id("pcp_fax"), "Enter a fax number using digits, like 512-555-0188."]);
      }
      if (v("pcp_direct") && !DIRECT_RE.test(v("pcp_direct"))) {
        errors.push([id("pcp_direct"), "Enter an address like name@direct.example.org, or leave it blank."]);
      }
      return errors;
    },
    /** What the API takes (null: none given). */
    value() {
      if (!has()) return null;
      return { name: v("pcp_name"), practice: v("pcp_practice"), phone: v("pcp_phone"),
        fax: v("pcp_fax"), direct_address: v("pcp_direct"), share: $(id("pcp_share")).checked };
    },
    /** Field ids by the API's error paths, under `path` (e.g. "primary_care"). */
    fieldIds(path) {
      return {
        [path]: id("pcp_phone"), [`${path}.name`]: id("pcp_name"),
        [`${path}.practice`]: id("pcp_practice"), [`${path}.phone`]: id("pcp_phone"),
        [`${path}.fax`]: id("pcp_fax"), [`${path}.direct_address`]: id("pcp_direct"),
      };
    },
  };
}
