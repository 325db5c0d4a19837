// The preparation block (issue 15), offline: the same markup as templates/dosing/_preparation.html,
// built from a result of the browser engine. Imported by offline.mjs; the buttons and the clock
// words are prep-actions.mjs's.
import { clockText, nextDoseText, useByText } from "./engine.mjs";

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== ""));
  return element;
}

const fmt = (n) => (n === null ? "" : String(n));

function nextDoseAttributes(next) {
  return {
    "data-clock": "next",
    "data-kind": next.kind,
    "data-days": fmt(next.days),
    "data-hours": fmt(next.hours),
    "data-not-before": fmt(next.not_before ?? null),
  };
}

function actions(print, storage = []) {
  return h(
    "div",
    { class: "prep-actions", "data-prep-actions": true, hidden: true },
    h("button", { type: "button", "data-print": true }, print),
    storage.length
      ? [
          h(
            "fieldset",
            { class: "bag-store" },
            h("legend", {}, "Bag label (62 mm): diluent and storage"),
            storage.map((s, i) =>
              h("label", { class: "pill" }, h("input", { type: "radio", name: "bag_store", value: String(i) }), ` ${s.diluent}, ${s.temperature}`),
            ),
          ),
          h("button", { type: "button", "data-print": "label" }, "Print bag label"),
        ]
      : [],
    h("button", { type: "button", "data-copy-note": true }, "Copy note for the chart"),
    h("button", { type: "button", "data-share-note": true, hidden: true }, "Share note"),
    h("p", { class: "copy-status", role: "status", "data-copy-status": true }),
  );
}

const blank = (short) => h("span", { class: short ? "blank short" : "blank" });
const row = (term, value) => h("tr", {}, h("th", { scope: "row" }, term), h("td", {}, value));

function useByAttributes(s) {
  return { "data-clock": "use-by", "data-diluent": s.diluent, "data-temperature": s.temperature, "data-hours": String(s.max_hours) };
}

/** The 62 mm bag label (issue 22.7), as templates/dosing/_preparation.html. */
function bagLabel(result, now) {
  const d = result.display;
  const bag = `${fmtNumber(result.bag_ml)} mL`;
  return h(
    "article",
    { class: "bag-label", "aria-label": "Bag label for printing" },
    h("h2", {}, `${d.product} ${d.dose} intravenous infusion`),
    h("p", { class: "sheet-patient" }, "Patient: ", blank(), " Identifier: ", blank()),
    h(
      "table",
      { class: "sheet-figures" },
      h(
        "tbody",
        {},
        row("Dose", d.dose),
        row("Concentration", `${result.draw_mg !== null ? `${fmtNumber(result.draw_mg)} mg` : d.dose} in ${bag}`),
        row("Final volume", bag),
        d.rate ? row("Rate", d.rate) : null,
      ),
    ),
    h("p", { class: "label-store-title" }, "Diluent and storage (tick one):"),
    h(
      "ul",
      { class: "label-store" },
      result.use_within.map((s, i) =>
        h("li", { "data-store": String(i) }, h("span", { class: "box" }, "☐"), " ", h("span", useByAttributes(s), useByText(s, now))),
      ),
    ),
    h("p", { class: "label-lot" }, "Vial lot: ", h("span", { class: "blank lot" }), " Expiry: ", blank(true)),
    h("p", { class: "sheet-signatures" }, "Prepared by: ", blank(), " Checked by: ", blank(), " Time: ", blank(true)),
    h(
      "p",
      { class: "sheet-source" },
      `Content version ${result.content_version} (label sections on the sheet). Printed `,
      h("span", { "data-clock": "now" }, clockText(now)),
      ".",
    ),
  );
}

function source(result, now) {
  return h(
    "p",
    { class: "sheet-source" },
    `Content version ${result.content_version}; US label sections ${result.references.map((r) => r.label_section).join(", ")}. Printed `,
    h("span", { "data-clock": "now" }, clockText(now)),
    ". Verify against the current label.",
  );
}

/** A hold, a stop or a not-recommended: its chart note and a slip to print (issue 22). */
function slipParts(result, deciding) {
  const now = new Date();
  const d = result.display;
  const section = h(
    "section",
    { class: "prep", "aria-labelledby": "prep-title" },
    h("h3", { id: "prep-title" }, "For the chart"),
    actions("Print slip"),
    h(
      "details",
      { class: "chart-note" },
      h("summary", {}, "Note for the chart"),
      h("pre", { "data-chart-note": true }, result.chart_note),
    ),
  );
  const slip = h(
    "article",
    { class: "prep-sheet slip", "aria-label": "Slip for printing" },
    h("h2", {}, `${d.product}: ${d.headline}`),
    h("p", { class: "sheet-patient" }, "Patient name: ", blank(), " Identifier: ", blank()),
    deciding ? h("p", { class: "slip-reason" }, h("strong", {}, "Reason:"), ` ${deciding.message}`) : null,
    h(
      "table",
      { class: "sheet-figures" },
      h("tbody", {}, row("Indication", `${result.indication_name}, ${d.route}`), row("Weight used", d.weight)),
    ),
    h(
      "ul",
      { class: "sheet-warnings" },
      result.warnings.filter((w) => w.severity !== "info" && w !== deciding).map((w) => h("li", {}, w.message)),
    ),
    h(
      "p",
      { class: "sheet-signatures" },
      "Recorded by: ",
      blank(),
      " at ",
      blank(true),
      " Prescriber told: ",
      blank(),
      " at ",
      blank(true),
    ),
    source(result, now),
  );
  return [section, slip];
}

/** The preparation section and the print sheet for a result of the browser engine (or, for an
 * answer with nothing to prepare, its slip; [] if neither). */
export function preparationParts(result, deciding = null) {
  // A snapshot saved before issue 15 has no preparation: the result then shows none.
  if (!result.preparation_steps?.length) return result.chart_note ? slipParts(result, deciding) : [];
  const now = new Date();
  const d = result.display;
  const next = result.next_dose;
  const steps = h(
    "ol",
    { class: "prep-steps" },
    result.preparation_steps.map((s) =>
      h(
        "li",
        { "data-step": s.code },
        s.text,
        s.exact ? [" ", h("details", { class: "exact" }, h("summary", {}, "Exact figure"), s.exact)] : [],
      ),
    ),
  );
  const section = h(
    "section",
    { class: "prep", "aria-labelledby": "prep-title" },
    h("h3", { id: "prep-title" }, "Preparation, in order"),
    steps,
    next ? h("p", { class: "next-dose", ...nextDoseAttributes(next) }, nextDoseText(next, now)) : null,
    actions("Print preparation sheet", result.use_within),
    h(
      "details",
      { class: "chart-note" },
      h("summary", {}, "Note for the chart"),
      h(
        "pre",
        { "data-chart-note": true },
        result.chart_note,
        next ? ["\n", h("span", nextDoseAttributes(next), nextDoseText(next, now))] : [],
      ),
    ),
  );
  const figures = h(
    "table",
    { class: "sheet-figures" },
    h(
      "tbody",
      {},
    row("Dose", `${d.dose} by ${d.route} (${result.indication_name}, ${d.step})`),
    row("Basis", d.dose_detail),
    row("Weight used", d.weight),
    result.confirmed ? row("Confirmed", result.checks.map((c) => c.message).join(" ")) : null,
    d.vials ? row("Vials", `${d.vials}; ${d.waste}`) : null,
    result.draw_ml !== null
      ? [
          row("Draw up", `${d.volume} (calculated ${d.volume_exact})`),
          row("Saline to remove", `${fmtNumber(result.saline_remove_ml)} mL from the bag first`),
        ]
      : d.volume
        ? row("Inject", d.volume)
        : null,
    d.bag ? row("Bag", d.bag) : null,
    d.rate ? row("Rate", d.rate) : null,
    d.devices ? row("Device", d.devices) : null,
    d.interval ? row("When", d.interval) : null,
    ),
  );
  const sheet = h(
    "article",
    { class: "prep-sheet", "aria-label": "Preparation sheet for printing" },
    h("h2", {}, `${result.display.product} preparation sheet`),
    h("p", { class: "sheet-patient" }, "Patient name: ", blank(), " Identifier: ", blank()),
    figures,
    h("ol", { class: "sheet-steps" }, result.preparation_steps.map((s) => h("li", {}, s.text))),
    result.use_within.length
      ? h(
          "ul",
          { class: "sheet-use-by" },
          result.use_within.map((s) => h("li", useByAttributes(s), useByText(s, now))),
        )
      : null,
    next ? h("p", nextDoseAttributes(next), nextDoseText(next, now)) : null,
    h(
      "ul",
      { class: "sheet-warnings" },
      result.warnings.filter((w) => w.severity !== "info").map((w) => h("li", {}, w.message)),
    ),
    h(
      "p",
      { class: "sheet-signatures" },
      "Prepared by: ",
      blank(),
      " at ",
      blank(true),
      " Checked by: ",
      blank(),
      " at ",
      blank(true),
    ),
    source(result, now),
  );
  return result.use_within.length ? [section, sheet, bagLabel(result, now)] : [section, sheet];
}

// ISMP style for the JSON numbers of a result (no trailing zero; they are already rounded).
function fmtNumber(n) {
  const [whole, fraction] = String(n).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return fraction ? `${grouped}.${fraction}` : grouped;
}
