// Offline calculation: reads the calculator form as dosing/forms.py does, runs the browser engine
// on the saved rules snapshot and builds the same #result markup as
// templates/dosing/calculator.html (the browser tests compare the two). Loaded only when needed.
import { InputError, calculate, ordinal, startText, typedNumber } from "./engine.mjs";
import { preparationParts } from "./preparation.mjs";

const NUMBER_FIELDS = [
  "weight",
  "age_years",
  "alt_x_uln",
  "ast_x_uln",
  "anc_per_mm3",
  "platelets_per_mm3",
  "alt_uln_u_per_l",
  "ast_uln_u_per_l",
];
// The lab inputs the engine reads, their units among them (issue 22.3), as dosing/forms.py.
const LAB_FIELDS = [...NUMBER_FIELDS.slice(2), "alt_unit", "ast_unit", "anc_unit", "platelets_unit"];
// Counts the app prints with thousands separators, as dosing/forms.py accepts them.
const THOUSANDS_FIELDS = ["anc_per_mm3", "platelets_per_mm3"];
const ICONS = { give: "✓", reduce: "↓", check: "?", hold: "‖" };
const SEVERITY = {
  danger: ["✖", "Danger"],
  warning: ["⚠", "Warning"],
  info: ["ℹ", "Note"],
};

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children.flat().filter((child) => child !== null && child !== ""));
  return element;
}

/** The form's fields in declaration order, as CalculatorForm: [name, value] with "" for empty. */
function fieldsOf(form) {
  const data = new FormData(form);
  const names = [...new Set([...form.elements].map((element) => element.name))].filter(
    (name) => name && name !== "csrfmiddlewaretoken",
  );
  return names.map((name) => [name, String(data.get(name) ?? "").trim()]);
}

function labelOf(form, name) {
  const label = form.querySelector(`label[for="id_${name}"]`) || form.querySelector(`#id_${name} > legend`);
  // A lab's unit is named by its aria-label (dosing/forms.py), as the server's error list says.
  return label ? label.textContent.trim() : form.querySelector(`#id_${name}`)?.getAttribute("aria-label") || name;
}

/** The inputs, or the field errors the server's form would give before the engine runs. */
function readForm(form) {
  const values = Object.fromEntries(fieldsOf(form));
  const errors = [];
  for (const name of NUMBER_FIELDS) {
    const value = values[name] ?? "";
    if (name === "weight" && !value) errors.push([name, "Enter the weight."]);
    else if (value) {
      // As dosing/forms.py, through the engine's one reading of typed text.
      try {
        values[name] = typedNumber(name, value, THOUSANDS_FIELDS.includes(name));
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        errors.push([name, error.message]);
      }
    }
  }
  const inputs = {
    // Issue 23: the product chosen; none on the page (one saved before the choice): the engine's default.
    product: values.product || undefined,
    indication: values.indication,
    route: values.route,
    weight: values.weight,
    weight_unit: values.weight_unit,
    step: values.step,
    age_years: values.age_years || null,
    starting_therapy: values.therapy === "starting",
    resuming_after_hold: values.therapy === "resuming",
    persistent_rise: values.persistent_rise === "on",
    confirmed: values.confirmed === "on",
    labs: Object.fromEntries(LAB_FIELDS.map((name) => [name, values[name] || null])),
    // Issue 22.5, as dosing/forms.py: absent fields are the first dose.
    dose_number: values.dose_number || "1",
    previous_dose_start: values.previous_dose_start || null,
    time_zone: siteZone(),
    // The device's clock, to the minute (UTC): a repeat dose before its earliest start is a check.
    now: `${new Date().toISOString().slice(0, 16)}Z`,
  };
  return { inputs, errors, order: Object.keys(values) };
}

// The site's zone as the server last wrote it on this page; without one, the phone's.
const siteZone = () =>
  document.querySelector("[data-time-zone]")?.dataset.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Doses the label allows this indication and route in all (content's count), as forms.course_max. */
function courseMax(rules, indication, route) {
  const counts = rules.dose_rules
    .filter((d) => d.indication === indication && d.route === route && d.additional_doses_max !== null)
    .map((d) => 1 + d.additional_doses_max);
  return counts.length ? Math.max(...counts) : 0;
}

/** The repeat-dose fields of templates/dosing/_course.html, offered only for a course. */
function syncCourse(form, rules) {
  const values = Object.fromEntries(fieldsOf(form));
  const want = courseMax(rules, values.indication, values.route);
  const shown = form.querySelector("#repeat");
  if (String(want || "") === (shown?.querySelector("[name=course_max]")?.value ?? "")) return;
  const chosen = values.dose_number || "1";
  const previous = values.previous_dose_start || "";
  shown?.remove();
  if (!want) return;
  const zone = siteZone();
  const pills = [];
  for (let n = 1; n <= want; n += 1) {
    const radio = h("input", { type: "radio", name: "dose_number", value: String(n), id: `id_dose_number_${n - 1}` });
    radio.checked = String(n) === chosen;
    pills.push(h("label", { class: "pill" }, radio, ` ${ordinal(n)}`));
  }
  if (!pills.some((pill) => pill.firstChild.checked)) pills[0].firstChild.checked = true;
  const input = h("input", { type: "datetime-local", name: "previous_dose_start", id: "id_previous_dose_start", enterkeyhint: "go" });
  input.value = previous;
  form.querySelector(".course").append(
    h(
      "div",
      { class: "repeat", id: "repeat", "data-time-zone": zone },
      h("input", { type: "hidden", name: "course_max", value: String(want) }),
      h(
        "fieldset",
        { class: "field choice seg", id: "id_dose_number", "data-choice": "dose_number" },
        h("legend", {}, "Dose of the course"),
        pills,
      ),
      h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: "id_previous_dose_start" },
          "Previous dose started ",
          h("span", { class: "hint" }, `(from the 2nd dose; ${zone} time)`),
        ),
        input,
      ),
    ),
  );
}

/** The notices in a clinician's order, as the `arrange` template tag (dosing/templatetags). */
function arrange(result, rules) {
  const advisoryCodes = new Set(rules.advisories.map((a) => a.code));
  const labActions = Object.fromEntries(rules.lab_rules.map((lab) => [lab.code, lab.action]));
  const shown = result.warnings.filter((w) => w.severity !== "info");
  let findings = shown.filter((w) => !advisoryCodes.has(w.code));
  let deciding = null;
  // The findings to confirm are shown apart, under the headline (issue 22), never twice.
  const checked = new Set((result.checks || []).map((c) => `${c.code}\n${c.message}`));
  findings = findings.filter((w) => !checked.has(`${w.code}\n${w.message}`));
  if (result.action !== "give" && result.action !== "check") {
    deciding =
      findings.find((w) => labActions[w.code] === result.action) ||
      findings.find((w) => w.severity === "danger") ||
      null;
  }
  return {
    deciding,
    findings: findings.filter((w) => w !== deciding),
    advisories: shown.filter((w) => advisoryCodes.has(w.code)),
    notes: result.warnings.filter((w) => w.severity === "info"),
  };
}

function resultSection(result, rules, monographUrl) {
  const d = result.display;
  const notices = arrange(result, rules);
  const link = (anchor, text) => h("a", { href: `${monographUrl}#${anchor}` }, text);
  const row = (term, ...definition) => h("div", {}, h("dt", {}, term), h("dd", {}, ...definition));
  // While a Check before giving waits, nothing to prepare from (as the template).
  const prepare = result.action !== "check";
  const figures = h(
    "dl",
    { class: "figures" },
    d.dose_detail ? row("Dose", `${d.dose_detail} `, link(result.references[0].anchor, "why")) : null,
    prepare && d.volume
      ? row(
          result.route === "iv" ? "Draw up" : "Inject",
          d.volume,
          d.volume_exact
            ? [" ", h("details", { class: "exact" }, h("summary", {}, "Exact figure"), `calculated ${d.volume_exact}`)]
            : [],
        )
      : null,
    prepare && d.vials ? row("Vials", `${d.vials}; ${d.waste} `, link("preparation", "why")) : null,
    prepare && d.bag ? row("Bag", d.bag) : null,
    prepare && d.rate ? row("Rate", d.rate) : null,
    prepare && d.devices ? row("Device", d.devices) : null,
    d.interval ? row("When", d.interval) : null,
    result.repeat?.not_before
      ? h(
          "div",
          {},
          h("dt", {}, "Start"),
          h(
            "dd",
            {
              "data-clock": "start",
              "data-previous": result.repeat.previous_dose_start,
              "data-not-before": result.repeat.not_before,
              "data-hours": String(result.repeat.min_hours_apart),
            },
            startText(result.repeat, new Date(), siteZone()),
          ),
        )
      : null,
    result.next_step && !notices.deciding ? row("Next step", result.next_step) : null,
    result.concomitant ? row("With", result.concomitant) : null,
  );
  const warning = (w, lead = null) => {
    const [icon, word] = SEVERITY[w.severity];
    return h(
      "li",
      { class: `warn warn-${w.severity}` },
      h("span", { class: "icon", "aria-hidden": "true" }, icon),
      " ",
      h(
        "span",
        {},
        h("strong", {}, `${lead || word}:`),
        ` ${w.message}`,
        w.anchor ? [" ", link(w.anchor, `PI ${w.label_section}`)] : [],
      ),
    );
  };
  const parts = [
    h(
      "div",
      { class: "head" },
      h(
        "h2",
        { id: "result-title", class: `action action-${result.action}`, tabindex: "-1" },
        h("span", { class: "icon", "aria-hidden": "true" }, ICONS[result.action] || "✕"),
        ` ${d.headline}`,
        d.dose ? [" ", h("span", { class: "dose" }, d.dose)] : [],
      ),
      h("p", { class: "who" }, h("strong", {}, d.weight), ` · ${result.indication_name} · ${d.route} · ${d.product}`),
    ),
  ];
  if (result.checks?.length) {
    const confirmed = result.confirmed;
    parts.push(
      h(
        "ul",
        { class: "warnings checks" },
        result.checks.map((c) =>
          h(
            "li",
            { class: "warn warn-check" },
            h("span", { class: "icon", "aria-hidden": "true" }, confirmed ? "✓" : "?"),
            " ",
            h(
              "span",
              {},
              h("strong", {}, confirmed ? "Confirmed:" : "Check:"),
              ` ${c.message}`,
              c.anchor ? [" ", link(c.anchor, `PI ${c.label_section}`)] : [],
            ),
          ),
        ),
      ),
    );
    if (result.action === "check") {
      parts.push(
        h(
          "p",
          { class: "confirm" },
          h("button", { type: "submit", form: "calc", name: "confirmed", value: "on", class: "go", "data-confirm": "" }, "Confirmed"),
          " Preparation, printing and the chart note wait for this.",
        ),
      );
    }
  }
  if (notices.deciding) {
    parts.push(h("ul", { class: `warnings decides decides-${result.action}` }, warning(notices.deciding, "Reason")));
  }
  parts.push(figures, ...preparationParts(result, notices.deciding));
  if (notices.findings.length) {
    parts.push(
      h("h3", { class: "group-title" }, "Also for this patient"),
      h("ul", { class: "warnings" }, notices.findings.map((w) => warning(w))),
    );
  }
  if (notices.advisories.length) {
    parts.push(
      h("h3", { class: "group-title" }, `Label warnings for ${result.indication_name}`),
      h("ul", { class: "warnings standing" }, notices.advisories.map((w) => warning(w))),
    );
  }
  const notes = notices.notes;
  if (notes.length) {
    parts.push(
      h(
        "details",
        { class: "notes" },
        h("summary", {}, `${notes.length} administration and monitoring note${notes.length === 1 ? "" : "s"}`),
        h("ul", { class: "warnings" }, notes.map((w) => warning(w))),
      ),
    );
  }
  const references = result.references.flatMap((r, i) => [i ? ", " : "", link(r.anchor, r.label_section)]);
  parts.push(h("p", { class: "refs" }, "Label sections: ", references, `. Content version ${result.content_version}.`));
  return parts;
}

function errorSection(form, errors, order) {
  const rank = ([name]) => (name === null ? order.length : order.indexOf(name)); // non-field last
  errors.sort((a, b) => rank(a) - rank(b));
  return [
    h(
      "h2",
      { id: "result-title", class: "action action-error", tabindex: "-1" },
      h("span", { class: "icon", "aria-hidden": "true" }, "!"),
      " Check the input",
    ),
    h(
      "ul",
      { class: "errors" },
      errors.map(([name, message]) =>
        name
          ? h("li", { "data-field": name }, h("a", { href: `#id_${name}` }, labelOf(form, name)), `: ${message}`)
          : h("li", {}, message),
      ),
    ),
  ];
}

/** A new #result section for the form's inputs, computed here from one rules snapshot. */
export function render(form, rules, monographUrl) {
  syncCourse(form, rules);
  const { inputs, errors, order } = readForm(form);
  let content;
  let version = rules.content_version;
  if (!errors.length) {
    try {
      const result = calculate(inputs, rules);
      content = resultSection(result, rules, monographUrl);
      version = result.content_version;
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      errors.push([order.includes(error.field) ? error.field : null, error.message]);
    }
  }
  return h(
    "section",
    {
      id: "result",
      class: "result",
      "aria-labelledby": "result-title",
      "data-content-version": version,
      "data-content-date": rules.content_date,
      ...(content ? { "data-time-zone": inputs.time_zone } : {}),
    },
    content || errorSection(form, errors, order),
  );
}
