// The dosing engine, in the browser: a line-by-line mirror of dosing/engine.py for offline use.
// No dependencies. Every figure comes from the rules snapshot (GET /api/v1/rules); this module
// holds arithmetic, ordering and wording only. tests/vectors/engine.json holds the cases both
// engines must pass (tests/js/engine.test.mjs runs them with `node --test`).
//
// Numbers are exact decimals (BigInt scaled by a power of ten), never binary floats, so 0.1 + 0.2
// is 0.3 here as in Python's Decimal. Rounding is half up, to the same places as the Python engine.

const WEIGHT_PLACES = 2;
const DOSE_PLACES = 1;
const VOLUME_PLACES = 2;
const RATE_PLACES = 1;
const CONCENTRATION_PLACES = 1;
// Places tried, in order, for the weight shown near a band edge (see shownKg).
const SHOWN_WEIGHT_PLACES = [2, 3, 4];
// Inputs beyond these are typos, refused before any arithmetic (as dosing/engine.py does).
const INPUT_MAX_DIGITS = 30;
const INPUT_MAX_ADJUSTED_EXPONENT = 15;
const INPUT_MIN_ADJUSTED_EXPONENT = -15;

// ---------------------------------------------------------------------------------------------
// Exact decimals: { n: BigInt, s: scale }, value = n / 10^s, s >= 0.

const TEN = 10n;
const pow10 = (k) => TEN ** BigInt(k);

export const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// Typed text: no exponent ("7e1" is a typo, not 70), as dosing.engine.FORM_NUMBER.
export const FORM_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

// Typed text (issue 22.3), as dosing.engine.typed_number.
const THOUSANDS = /^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
const THREE_AFTER = /^[+-]?\d{1,3}[.,]\d{3}$/;
const DECIMAL_COMMA = /^[+-]?\d*,\d+$/;
export const EXPONENT_REFUSED = "Write the number without an exponent (70, not 7e1).";

/** Typed text as the engine's number syntax, or InputError naming the field: a decimal comma where
 * unambiguous ("1,5" is 1.5), a count's thousands ("1,500"); "1.500" in a count, or "1,500"
 * anywhere else, could be either and is refused with a message. */
export function typedNumber(field, text, counts = false) {
  text = text.trim();
  if (counts && THOUSANDS.test(text)) return text.replaceAll(",", "");
  if (THREE_AFTER.test(text) && (counts || text.includes(","))) {
    const [whole, part] = text.replace(",", ".").split(".");
    throw new InputError(
      field,
      `${text} could be ${whole}${part} or ${formatNumber(dec(`${whole}.${part}`))}: ` +
        "write it without a thousands separator.",
    );
  }
  if (DECIMAL_COMMA.test(text)) text = text.replace(",", ".");
  if (!FORM_NUMBER.test(text)) {
    if (text.includes(",") && text.includes(".")) {
      throw new InputError(field, "Write the number with one decimal point and no thousands separator.");
    }
    throw new InputError(field, NUMBER.test(text) ? EXPONENT_REFUSED : "Enter a number.");
  }
  return text;
}

/** The digits of a number as text, measured without building it: null for zero. */
function measure(text) {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  const [, , whole, fraction = "", exponent = "0"] = match;
  const all = `${whole}${fraction}`;
  const lead = all.length - all.replace(/^0+/, "").length;
  const significant = all.replace(/^0+/, "").replace(/0+$/, "").length;
  if (!significant) return null;
  return { significant, adjusted: whole.length - lead - 1 + Number(exponent) };
}

function dec(text) {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  const [, sign, whole, fraction = "", exponent = "0"] = match;
  let n = BigInt(`${whole}${fraction}` || "0");
  let s = fraction.length - Number(exponent);
  if (s < 0) {
    n *= pow10(-s);
    s = 0;
  }
  return { n: sign === "-" ? -n : n, s };
}

const D = (value) => (value === null || value === undefined ? null : dec(String(value)));
const int = (k) => ({ n: BigInt(k), s: 0 });

function align(a, b) {
  const s = Math.max(a.s, b.s);
  return [a.n * pow10(s - a.s), b.n * pow10(s - b.s), s];
}

const add = (a, b) => {
  const [x, y, s] = align(a, b);
  return { n: x + y, s };
};
const sub = (a, b) => {
  const [x, y, s] = align(a, b);
  return { n: x - y, s };
};
const mul = (a, b) => ({ n: a.n * b.n, s: a.s + b.s });
const cmp = (a, b) => {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
};
const lt = (a, b) => cmp(a, b) < 0;
const le = (a, b) => cmp(a, b) <= 0;
const gt = (a, b) => cmp(a, b) > 0;
const ge = (a, b) => cmp(a, b) >= 0;
const eq = (a, b) => cmp(a, b) === 0;
const isZero = (a) => a.n === 0n;
const minD = (a, b) => (lt(b, a) ? b : a);
const maxD = (a, b) => (gt(b, a) ? b : a);

// p / q rounded half up (away from zero on a tie, as ROUND_HALF_UP), q > 0.
function divRound(p, q) {
  const negative = p < 0n;
  const magnitude = negative ? -p : p;
  let quotient = magnitude / q;
  if ((magnitude % q) * 2n >= q) quotient += 1n;
  return negative ? -quotient : quotient;
}

// a / b to `places` decimals, half up, computed exactly.
function divide(a, b, places) {
  let p = a.n * pow10(b.s + places);
  let q = b.n * pow10(a.s);
  if (q < 0n) [p, q] = [-p, -q];
  return { n: divRound(p, q), s: places };
}

function quantize(a, places) {
  if (a.s <= places) return { n: a.n * pow10(places - a.s), s: places };
  return { n: divRound(a.n, pow10(a.s - places)), s: places };
}

// The smallest integer >= a / b, for b > 0.
function ceilDiv(a, b) {
  const p = a.n * pow10(b.s);
  const q = b.n * pow10(a.s);
  const quotient = p / q; // truncates towards zero: already the ceiling for p <= 0
  return Number(p > 0n && p % q !== 0n ? quotient + 1n : quotient);
}

// Plain digits with trailing zeros dropped, as Python's format(d.normalize(), "f").
function plain(a) {
  const negative = a.n < 0n;
  let digits = (negative ? -a.n : a.n).toString().padStart(a.s + 1, "0");
  let whole = digits.slice(0, digits.length - a.s);
  let fraction = digits.slice(digits.length - a.s).replace(/0+$/, "");
  if (!whole) whole = "0";
  digits = fraction ? `${whole}.${fraction}` : whole;
  return negative ? `-${digits}` : digits;
}

/** ISMP style: leading zero, no trailing zero, thousands grouped (0.9, 560, 1,200.5). */
export function formatNumber(value) {
  const text = plain(typeof value === "object" ? value : int(value));
  const sign = text.startsWith("-") ? "-" : "";
  const [whole, fraction] = text.replace("-", "").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return fraction ? `${sign}${grouped}.${fraction}` : `${sign}${grouped}`;
}

const asNumber = (a) => (a === null ? null : Number(plain(a)));

// ---------------------------------------------------------------------------------------------
// Words

const KG_PER_LB = dec("0.45359237"); // exact, by international definition
const AGE_INPUT_MAX_YEARS = dec("130");
const LAB_INPUT_MAX = {
  alt_x_uln: dec("1000"),
  ast_x_uln: dec("1000"),
  anc_per_mm3: dec("1000000"),
  platelets_per_mm3: dec("10000000"),
};
const LAB_OF_INPUT = {
  alt_x_uln: "alt_ast",
  ast_x_uln: "alt_ast",
  anc_per_mm3: "anc",
  platelets_per_mm3: "platelets",
};
const LAB_NAMES = { alt_x_uln: "ALT", ast_x_uln: "AST", anc_per_mm3: "ANC", platelets_per_mm3: "Platelets" };
// The units labs report (issue 22.3), as dosing.engine.LabUnit; the engine's own first.
const LAB_UNIT_WORDS = {
  per_mm3: "cells/mm³",
  e9_per_l: "×10⁹/L",
  e3_per_ul: "×10³/µL",
  x_uln: "× ULN",
  u_per_l: "U/L",
};
const LAB_INPUT_UNITS = {
  alt_x_uln: ["x_uln", "u_per_l"],
  ast_x_uln: ["x_uln", "u_per_l"],
  anc_per_mm3: ["per_mm3", "e9_per_l", "e3_per_ul"],
  platelets_per_mm3: ["per_mm3", "e9_per_l", "e3_per_ul"],
};
// Unit identities, not clinical figures: 1 ×10⁹/L = 10⁶/mL = 10³/µL, and 1 µL = 1 mm³.
const COUNT_PER_MM3 = { per_mm3: 1, e9_per_l: 1000, e3_per_ul: 1000 };
const LAB_UNIT_FIELDS = Object.fromEntries(Object.keys(LAB_INPUT_UNITS).map((n) => [n, `${n.split("_")[0]}_unit`]));
const LAB_ULN_FIELDS = { alt_x_uln: "alt_uln_u_per_l", ast_x_uln: "ast_uln_u_per_l" };
const ROUTES = ["iv", "sc"];
const STEPS = ["starting", "increased"];
const UNITS = ["kg", "lb"];
const ROUTE_WORDS = { iv: "intravenous infusion", sc: "subcutaneous injection" };
const ROUTE_ADJECTIVES = { iv: "intravenous", sc: "subcutaneous" };
// Most severe last: several findings, the highest rank wins.
const ACTION_RANK = { give: 0, reduce: 1, check: 2, hold: 3, not_recommended: 4, discontinue: 5 };
const SEVERITY_RANK = { danger: 0, warning: 1, info: 2 };
const ACTION_SEVERITY = {
  give: "warning", // a lab finding that still gives asks for a step (adjust DMARDs)
  reduce: "warning",
  check: "warning",
  hold: "warning",
  not_recommended: "danger",
  discontinue: "danger",
};
const HEADLINES = {
  give: "Give",
  reduce: "Give a reduced dose",
  check: "Check before giving",
  hold: "Hold: do not give now",
  not_recommended: "Not recommended: do not give",
  discontinue: "Discontinue",
};
// A dose whose drug volume has no bag to go in (issue 22): not a dose to give, in any surface.
const UNPREPARABLE_HEADLINE = "Cannot be prepared as the label says: contact pharmacy";
// Findings that ask to confirm before a dose is given (issue 22), as dosing.engine.CHECK_WORDS.
const CHECK_WORDS = {
  weight_implausible: "the weight",
  band_edge: "the weight near a band edge",
  increased_at_initiation: "the increased dose at the start of therapy",
  no_label_maximum: "a dose the label does not cap",
  concentration_above_limit: "the final concentration",
  age_needed: "the weight with no age entered",
  early_start: "the earliest start time",
};
const isCheck = (code) => Object.hasOwn(CHECK_WORDS, code);

export class InputError extends Error {
  /** An input outside the domain; `field` names the input, `message` says what is allowed. */
  constructor(field, message) {
    super(`${field}: ${message}`);
    this.field = field;
    this.message = message;
  }
}

export function formatInterval(days) {
  if (days === 7) return "every week";
  if (days % 7 === 0) return `every ${days / 7} weeks`;
  return days === 1 ? "every day" : `every ${days} days`;
}

const inBand = (weight, low, high) => (low === null || ge(weight, low)) && (high === null || lt(weight, high));
// The half-open band [low, high) holds the weights just under `edge`.
const below = (low, high, edge) => (low === null || lt(low, edge)) && high !== null && ge(high, edge);
const absD = (a) => (a.n < 0n ? { n: -a.n, s: a.s } : a);
// Round towards zero to `places` (the last resort of shownKg, for positive weights).
function truncate(a, places) {
  if (a.s <= places) return { n: a.n * pow10(places - a.s), s: places };
  return { n: a.n / pow10(a.s - places), s: places };
}

// ---------------------------------------------------------------------------------------------
// The rules snapshot: decimal strings become exact decimals once per snapshot.

const loaded = new WeakMap();

function load(data) {
  if (loaded.has(data)) return loaded.get(data);
  const rules = {
    content_version: data.content_version,
    content_date: data.content_date,
    max_weight_kg: D(data.max_weight_kg),
    band_margin_percent: D(data.band_margin_percent),
    uncapped_note_above_mg: D(data.uncapped_note_above_mg),
    resume_rules: data.resume_rules.map((r) => ({
      ...r,
      min_weight_kg: D(r.min_weight_kg),
      max_weight_kg: D(r.max_weight_kg),
      mg_per_kg: D(r.mg_per_kg),
    })),
    indications: data.indications.map((i) => ({ ...i, min_age_years: D(i.min_age_years) })),
    dose_rules: data.dose_rules.map((d) => ({
      ...d,
      min_weight_kg: D(d.min_weight_kg),
      max_weight_kg: D(d.max_weight_kg),
      mg_per_kg: D(d.mg_per_kg),
      flat_mg: D(d.flat_mg),
      max_mg: D(d.max_mg),
    })),
    presentations: data.presentations.map(loadPresentation),
    preparation: {
      ...data.preparation,
      concentration_mg_per_ml: D(data.preparation.concentration_mg_per_ml),
      min_saline_ml: D(data.preparation.min_saline_ml),
      concentration_limit: data.preparation.concentration_limit
        ? { ...data.preparation.concentration_limit, max_mg_per_ml: D(data.preparation.concentration_limit.max_mg_per_ml) }
        : null,
      bags: data.preparation.bags.map((b) => ({
        indications: b.indications,
        min_weight_kg: D(b.min_weight_kg),
        max_weight_kg: D(b.max_weight_kg),
        bag_ml: D(b.bag_ml),
      })),
    },
    lab_rules: data.lab_rules.map((r) => ({
      ...r,
      above: D(r.above),
      below: D(r.below),
      reduce_to_mg_per_kg: D(r.reduce_to_mg_per_kg),
    })),
    advisories: data.advisories,
    plausible_weights: data.plausible_weights.map((p) => ({
      min_age_years: D(p.min_age_years),
      max_age_years: D(p.max_age_years),
      min_weight_kg: D(p.min_weight_kg),
      max_weight_kg: D(p.max_weight_kg),
    })),
    handling: loadHandling(data.handling),
    rounding: data.rounding ? { ...data.rounding, within_percent: D(data.rounding.within_percent) } : null,
    // A product's own presentations (format 5); null: the rules' (a format-4 snapshot's).
    products: (data.products || []).map((p) => ({
      ...p,
      presentations: p.presentations ? p.presentations.map(loadPresentation) : null,
    })),
  };
  loaded.set(data, rules);
  return rules;
}

function loadPresentation(p) {
  return { ...p, strength_mg: D(p.strength_mg), volume_ml: D(p.volume_ml) };
}

/** What the product comes in, as dosing.engine._compile's `offered`. */
function presentationsOf(product, rules) {
  return product.presentations === null ? rules.presentations : product.presentations;
}

function labMatches(rule, value) {
  if (rule.above !== null && !(rule.above_inclusive ? ge(value, rule.above) : gt(value, rule.above))) {
    return false;
  }
  return rule.below === null || (rule.below_inclusive ? le(value, rule.below) : lt(value, rule.below));
}

// ---------------------------------------------------------------------------------------------
// Calculation

function toKg(weight, unit) {
  return unit === "lb" ? mul(weight, KG_PER_LB) : weight; // exact: nothing rounded before use
}

/** The weight to show: 0.01 kg, or more places where that would cross a band edge. */
function shownKg(weightKg, edges) {
  for (const places of SHOWN_WEIGHT_PLACES) {
    const shown = quantize(weightKg, places);
    if (!edges.some((edge) => lt(weightKg, edge) !== lt(shown, edge))) return shown;
  }
  return truncate(weightKg, SHOWN_WEIGHT_PLACES[SHOWN_WEIGHT_PLACES.length - 1]);
}

const gcdBig = (a, b) => (b === 0n ? a : gcdBig(b, a % b));

// The smallest integer >= a / b (b > 0), as a BigInt.
function ceilDivBig(a, b) {
  const p = a.n * pow10(b.s);
  const q = b.n * pow10(a.s);
  const quotient = p / q;
  return p > 0n && p % q !== 0n ? quotient + 1n : quotient;
}

/**
 * The vial combination covering the dose with the least unused drug, then the fewest vials:
 * exact, in time bounded by the strengths alone (see dosing.engine.choose_vials for the proof).
 */
export function chooseVials(doseMg, vials) {
  const strengths = [...vials].sort((a, b) => cmp(b.strength_mg, a.strength_mg));
  if (!strengths.length) return [];
  const largest = strengths[0].strength_mg;
  const places = Math.max(...strengths.map((v) => v.strength_mg.s));
  const numbers = strengths.map((v) => v.strength_mg.n * pow10(places - v.strength_mg.s));
  const bounds = [0n, ...numbers.slice(1).map((n) => numbers[0] / gcdBig(n, numbers[0]))];
  const smallerMg = strengths
    .slice(1)
    .reduce((sum, v, i) => add(sum, mul({ n: bounds[i + 1] - 1n, s: 0 }, v.strength_mg)), int(0));
  let preset = ceilDivBig(sub(doseMg, smallerMg), largest) - 1n;
  if (preset < 0n) preset = 0n;
  let best = null;
  const search = (index, remaining, counts) => {
    const vial = strengths[index];
    let most = ceilDivBig(remaining, vial.strength_mg);
    if (most < 0n) most = 0n;
    if (index === strengths.length - 1) {
      const full = [...counts, most];
      const total = full.reduce((sum, n, i) => add(sum, mul({ n, s: 0 }, strengths[i].strength_mg)), int(0));
      const waste = sub(total, doseMg);
      const count = full.reduce((sum, n) => sum + n, 0n) + preset;
      if (best === null || lt(waste, best.waste) || (eq(waste, best.waste) && count < best.count)) {
        best = { waste, count, full };
      }
      return;
    }
    if (index && most > bounds[index] - 1n) most = bounds[index] - 1n;
    for (let n = 0n; n <= most; n += 1n) {
      search(index + 1, sub(remaining, mul({ n, s: 0 }, vial.strength_mg)), [...counts, n]);
    }
  };
  search(0, sub(doseMg, mul({ n: preset, s: 0 }, largest)), []);
  const counts = [best.full[0] + preset, ...best.full.slice(1)];
  return strengths
    .map((vial, i) => ({ strength_mg: vial.strength_mg, volume_ml: vial.volume_ml, count: Number(counts[i]) }))
    .filter((vial) => vial.count);
}

/** The whole vials holding the most drug not above the dose, then the fewest vials, as
 * dosing.engine.vials_at_most (a site's rounding down, issue 22.4). */
export function vialsAtMost(doseMg, vials) {
  const strengths = [...vials].sort((a, b) => cmp(b.strength_mg, a.strength_mg));
  if (!strengths.length) return [];
  const places = Math.max(...strengths.map((v) => v.strength_mg.s));
  const numbers = strengths.map((v) => v.strength_mg.n * pow10(places - v.strength_mg.s));
  const bounds = numbers.slice(1).map((n) => numbers[0] / gcdBig(n, numbers[0]));
  const target = truncate(doseMg, places).n;
  let best = null;
  const search = (index, held, counts) => {
    if (index === bounds.length) {
      const first = (target - held) / numbers[0];
      const total = held + first * numbers[0];
      const count = counts.reduce((sum, n) => sum + n, first);
      if (best === null || total > best.total || (total === best.total && count < best.count)) {
        best = { total, count, full: [first, ...counts] };
      }
      return;
    }
    for (let n = 0n; n < bounds[index] && held + n * numbers[index + 1] <= target; n += 1n) {
      search(index + 1, held + n * numbers[index + 1], [...counts, n]);
    }
  };
  search(0, 0n, []);
  if (best === null || best.total === 0n) return [];
  return strengths
    .map((vial, i) => ({ strength_mg: vial.strength_mg, volume_ml: vial.volume_ml, count: Number(best.full[i]) }))
    .filter((vial) => vial.count);
}

const vialsMg = (vials) => vials.reduce((sum, v) => add(sum, mul(v.strength_mg, int(v.count))), int(0));

/** The number, or InputError: "Enter a number." for text that is none, `outOfRange` for a
 * number too large, too small or too long to be a measurement (checked before it is built). */
function parseDecimal(field, value, outOfRange) {
  const text =
    value === null || value === undefined || typeof value === "boolean" ? "" : String(value).trim();
  if (!NUMBER.test(text)) throw new InputError(field, "Enter a number.");
  const size = measure(text);
  if (
    size !== null &&
    (size.significant > INPUT_MAX_DIGITS ||
      size.adjusted > INPUT_MAX_ADJUSTED_EXPONENT ||
      size.adjusted < INPUT_MIN_ADJUSTED_EXPONENT)
  ) {
    throw new InputError(field, outOfRange);
  }
  return size === null ? int(0) : dec(text);
}

function givenLabs(labs) {
  return Object.keys(LAB_OF_INPUT)
    .filter((name) => labs[name] !== null && labs[name] !== undefined)
    .map((name) => [name, labs[name]]);
}

const offers = (product, indication, route) =>
  product.routes.find((r) => r.indication === indication && r.route === route) || null;

/** "TYENNE (tocilizumab-aazg)", as dosing.engine.product_name. */
export const productName = (product) => `${product.brand_name} (${product.nonproprietary_name})`;

function checkProduct(inputs, rules) {
  const product = rules.products.find((p) => p.slug === inputs.product);
  if (!product) {
    const known = rules.products.map((p) => p.slug).join(", ");
    throw new InputError("product", `Unknown product '${inputs.product}'. Choose one of: ${known}.`);
  }
  return product;
}

/** No product route: not on that product's label, as dosing.engine._check_offered. */
function checkOffered(product, indication, route, rules) {
  if (offers(product, indication.slug, route)) return;
  const others = product.routes.filter((r) => r.indication === indication.slug).map((r) => r.route);
  const lacks = others.length
    ? `its label has ${others.map((r) => ROUTE_ADJECTIVES[r]).join(" and ")} dosing for it only`
    : "its label does not carry this indication";
  const offering = rules.products.filter((p) => offers(p, indication.slug, route)).map((p) => p.brand_name);
  const instead = offering.length ? ` Offered by: ${offering.join(", ")}.` : "";
  throw new InputError(
    "product",
    `${productName(product)} is not offered for ${indication.name}, ${ROUTE_ADJECTIVES[route]}: ${lacks}.${instead}`,
  );
}

function checkChoices(inputs, rules) {
  const product = checkProduct(inputs, rules);
  const indication = rules.indications.find((i) => i.slug === inputs.indication);
  if (!indication) {
    const known = rules.indications.map((i) => i.slug).join(", ");
    throw new InputError("indication", `Unknown indication '${inputs.indication}'. Choose one of: ${known}.`);
  }
  const routes = ROUTES.filter((r) => rules.dose_rules.some((d) => d.indication === indication.slug && d.route === r));
  if (!ROUTES.includes(inputs.route)) {
    throw new InputError("route", "Choose iv (intravenous) or sc (subcutaneous).");
  }
  const route = inputs.route;
  if (!routes.includes(route)) {
    const have = routes.map((r) => `${r} (${ROUTE_ADJECTIVES[r]})`).join(" or ");
    throw new InputError(
      "route",
      `The label has no ${ROUTE_ADJECTIVES[route]} dosing for ${indication.name}; use ${have}.`,
    );
  }
  checkOffered(product, indication, route, rules);
  if (!STEPS.includes(inputs.step)) throw new InputError("step", "Choose starting or increased.");
  const step = inputs.step;
  if (!rules.dose_rules.some((d) => d.indication === indication.slug && d.route === route && d.step === step)) {
    throw new InputError(
      "step",
      `The label has no increased ${ROUTE_ADJECTIVES[route]} dose for ${indication.name}; use starting.`,
    );
  }
  return { indication, route, step, product };
}

function checkInputs(inputs, rules) {
  const { indication, route, step, product } = checkChoices(inputs, rules);
  if (inputs.resuming_after_hold && inputs.starting_therapy) {
    throw new InputError("resuming_after_hold", "Resuming after a hold is on therapy: set starting_therapy to false.");
  }
  let context = inputs.starting_therapy ? "starting" : inputs.resuming_after_hold ? "resuming" : "on_therapy";
  const doseNumber = readDoseNumber(inputs.dose_number);
  // A repeat dose of a course is not a start: initiation-only gates do not apply to it.
  if (doseNumber > 1 && context === "starting") context = "on_therapy";
  if (!UNITS.includes(inputs.weight_unit)) throw new InputError("weight_unit", "Choose kg or lb.");
  const limitLb = truncate(divide(rules.max_weight_kg, KG_PER_LB, WEIGHT_PLACES + 20), WEIGHT_PLACES);
  const allowed =
    `Enter a weight above 0 and up to ${formatNumber(rules.max_weight_kg)} kg ` + `(${formatNumber(limitLb)} lb).`;
  const weight = parseDecimal("weight", inputs.weight, allowed);
  if (le(weight, int(0))) throw new InputError("weight", allowed);
  const weightKg = toKg(weight, inputs.weight_unit);
  // A weight shown as 0 kg is no weight: refused, as any weight above the maximum.
  if (le(quantize(weightKg, WEIGHT_PLACES), int(0)) || gt(weightKg, rules.max_weight_kg)) {
    throw new InputError("weight", allowed);
  }
  let age = null;
  if (inputs.age_years !== null && inputs.age_years !== undefined) {
    const allowedAge = `Enter an age from 0 to ${plain(AGE_INPUT_MAX_YEARS)} years.`;
    age = parseDecimal("age_years", inputs.age_years, allowedAge);
    if (lt(age, int(0)) || gt(age, AGE_INPUT_MAX_YEARS)) throw new InputError("age_years", allowedAge);
  }
  const labs = [];
  const labEchoes = {};
  for (const [name, value] of givenLabs(inputs.labs)) {
    const unit = inputs.labs[LAB_UNIT_FIELDS[name]];
    const uln = name in LAB_ULN_FIELDS ? inputs.labs[LAB_ULN_FIELDS[name]] : null;
    const [number, echo] = readLab(name, value, unit, uln);
    labEchoes[name] = echo;
    labs.push([name, number]);
  }
  return {
    indication,
    route,
    step,
    context,
    weight,
    weightKg,
    age,
    labs,
    labEchoes,
    weightUnit: inputs.weight_unit,
    doseNumber,
    product,
  };
}

const DOSE_NUMBER_ALLOWED = "Enter the dose number as a whole number: 1 for the first dose, 2 for the second.";

/** The dose of a course: a whole number from 1 (text digits too), as dosing.engine._dose_number. */
function readDoseNumber(value) {
  let number = value;
  if (typeof value === "string") {
    if (!/^[0-9]{1,3}$/.test(value.trim())) throw new InputError("dose_number", DOSE_NUMBER_ALLOWED);
    number = Number(value.trim());
  } else if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new InputError("dose_number", DOSE_NUMBER_ALLOWED);
  }
  if (number < 1) throw new InputError("dose_number", DOSE_NUMBER_ALLOWED);
  return number;
}

/** 1st, 2nd, 3rd, 4th ... 11th, 12th, 13th, 21st. */
export function ordinal(n) {
  const suffix = n % 100 >= 10 && n % 100 <= 20 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
  return `${n}${suffix}`;
}

/** The dose number against the label's count and a repeat dose's earliest start, as
 * dosing.engine._course: null for a repeating schedule. */
function courseOf(checked, rule, inputs) {
  const number = checked.doseNumber;
  const name = checked.indication.name;
  if (rule.additional_doses_max === null || rule.min_hours_apart === null) {
    if (number !== 1) {
      throw new InputError(
        "dose_number",
        `${name} has no numbered course of doses in the label: leave the dose number at 1.`,
      );
    }
    return null;
  }
  const dosesMax = 1 + rule.additional_doses_max;
  if (number > dosesMax) {
    throw new InputError(
      "dose_number",
      `The label allows ${name} up to ${dosesMax} doses in all (the first and up to ` +
        `${rule.additional_doses_max} more): a ${ordinal(number)} dose is outside the label.`,
    );
  }
  if (number === 1) return { doseNumber: 1, dosesMax, previous: null, notBefore: null };
  const zone = timeZone(inputs.time_zone);
  const previousText = inputs.previous_dose_start;
  if (previousText === null || previousText === undefined || !String(previousText).trim()) {
    throw new InputError(
      "previous_dose_start",
      `Enter when the previous dose started (date and time): a ${ordinal(number)} dose ` +
        `starts at least ${rule.min_hours_apart} hours after it.`,
    );
  }
  const previous = readMoment("previous_dose_start", previousText, zone);
  // The earlier reading of a doubtful now (seconds dropped, a repeated hour's first).
  const nowText = inputs.now;
  const now =
    nowText === null || nowText === undefined || !String(nowText).trim() ? null : readMoment("now", nowText, zone, true);
  return { doseNumber: number, dosesMax, previous, notBefore: previous + rule.min_hours_apart * HOUR_MS, zone, now };
}

/** A repeat dose asked for before its earliest start, as dosing.engine._early_start_notice. */
function earlyStartNotice(course, rule) {
  if (course === null || course.now === null || course.now === undefined || course.notBefore === null) return null;
  const { now, notBefore, previous, zone } = course;
  if (now >= notBefore) return null;
  const at = (ms) => formatMoment(wallIn(ms, zone));
  const hours = rule.min_hours_apart;
  const dose = `the ${ordinal(course.doseNumber)} dose`;
  let message;
  if (previous > now) {
    message =
      `The previous dose's start entered (${at(previous)}) is later than now (${at(now)}): check the date and ` +
      `time. ${dose[0].toUpperCase()}${dose.slice(1)} may not start before ${at(notBefore)}, ${hours} hours after it.`;
  } else {
    message =
      `Too early: ${dose} may not start before ${at(notBefore)}, ${hours} hours after the previous dose ` +
      `started (${at(previous)}); it is now ${at(now)} (${duration(Math.ceil((notBefore - now) / MINUTE_MS))} ` +
      "to wait). Start it then, or check the previous dose's start time.";
  }
  return notice("early_start", "warning", message, rule.source);
}

/** A lab value in the unit the lab reported, in the engine's unit, with its words as read: the one
 * place units are converted, as dosing.engine.read_lab. A value no lab reports in that unit is a
 * question on its field (InputError), never an action. */
export function readLab(name, value, unit, uln = null) {
  const units = LAB_INPUT_UNITS[name];
  if (unit === null || unit === undefined || unit === "") unit = units[0];
  if (!units.includes(unit)) {
    const choices = units.map((u) => `${u} (${LAB_UNIT_WORDS[u]})`).join(", ");
    throw new InputError(LAB_UNIT_FIELDS[name], `Choose the ${LAB_NAMES[name]} unit: ${choices}.`);
  }
  if (unit in COUNT_PER_MM3) return readCount(name, value, unit);
  const fmt = formatNumber;
  if (unit === "x_uln") {
    const allowed = `Enter a value from 0 to ${fmt(LAB_INPUT_MAX[name])} × ULN.`;
    const number = parseDecimal(name, value, allowed);
    if (lt(number, int(0))) throw new InputError(name, allowed);
    if (gt(number, LAB_INPUT_MAX[name])) {
      throw new InputError(
        name,
        `${fmt(number)} × ULN: did you mean ${fmt(number)} U/L? ` +
          "Choose U/L and enter the upper limit of normal from the lab report.",
      );
    }
    return [number, `${fmt(number)} × ULN`];
  }
  const ulnField = LAB_ULN_FIELDS[name];
  const needUln =
    `Enter the upper limit of normal for ${LAB_NAMES[name]} in U/L, from the lab report ` +
    "(or give the value as × ULN).";
  if (uln === null || uln === undefined || uln === "") throw new InputError(ulnField, needUln);
  const limit = parseDecimal(ulnField, uln, needUln);
  if (le(limit, int(0))) throw new InputError(ulnField, needUln);
  const allowed = `Enter a value from 0 U/L to ${fmt(LAB_INPUT_MAX[name])} × ULN.`;
  const number = parseDecimal(name, value, allowed);
  if (lt(number, int(0)) || gt(number, mul(LAB_INPUT_MAX[name], limit))) throw new InputError(name, allowed);
  const shown = divide(number, limit, 2);
  const exact = eq(mul(shown, limit), number);
  // The ratio itself, exact where it terminates (to 100 places otherwise, as Python's context).
  const ratio = exact ? shown : divide(number, limit, 100);
  return [
    ratio,
    `${fmt(number)} U/L (upper limit ${fmt(limit)} U/L) = ${exact ? "" : "about "}${fmt(shown)} × ULN`,
  ];
}

function readCount(name, value, unit) {
  const fmt = formatNumber;
  const factor = int(COUNT_PER_MM3[unit]);
  const words = LAB_UNIT_WORDS[unit];
  const most = divide(LAB_INPUT_MAX[name], factor, 0);
  const allowed = `Enter a value from 0 to ${fmt(most)} ${words}.`;
  const number = parseDecimal(name, value, allowed);
  if (lt(number, int(0))) throw new InputError(name, allowed);
  if (unit === "per_mm3") {
    // A count is whole cells; a platelet count is reported in thousands: ask, never act.
    const whole = eq(quantize(number, 0), number);
    if (!whole || (name === "platelets_per_mm3" && gt(number, int(0)) && lt(number, int(1000)))) {
      throw new InputError(
        name,
        `${fmt(number)}: did you mean ${fmt(mul(number, int(1000)))} ` +
          `cells/mm³ (${fmt(number)} ×10⁹/L)? Choose the unit the lab reports.`,
      );
    }
    if (gt(number, LAB_INPUT_MAX[name])) throw new InputError(name, allowed);
    return [number, `${fmt(number)} cells/mm³`];
  }
  if (gt(number, most)) {
    throw new InputError(
      name,
      `${fmt(number)} ${words}: did you mean ${fmt(number)} cells/mm³? Choose the unit the lab reports.`,
    );
  }
  const perMm3 = mul(number, factor);
  return [perMm3, `${fmt(number)} ${words} = ${fmt(perMm3)} cells/mm³`];
}

function verifyNotice(what, source) {
  return {
    code: "verify_label",
    severity: "warning",
    message:
      `Verify against the current label: ${what} (${source.evidence} evidence, ` +
      `PI ${source.label_section}) is flagged for review.`,
    label_section: source.label_section,
    anchor: source.anchor,
  };
}

const notice = (code, severity, message, source) => ({
  code,
  severity,
  message,
  label_section: source ? source.label_section : "",
  anchor: source ? source.anchor : "",
});

/** The dose one rule gives at one weight: per kg (0.1 mg, capped) or flat. */
function doseAt(rule, mgPerKg, weightKg) {
  if (mgPerKg === null) return rule.flat_mg;
  const dose = quantize(mul(weightKg, mgPerKg), DOSE_PLACES);
  return rule.max_mg !== null ? minD(dose, rule.max_mg) : dose;
}

function doseWords(rule, weightKg, interval) {
  let words =
    rule.mg_per_kg !== null
      ? `${formatNumber(rule.mg_per_kg)} mg per kg (${formatNumber(doseAt(rule, rule.mg_per_kg, weightKg))} mg)`
      : `${formatNumber(doseAt(rule, null, weightKg))} mg`;
  if (interval && rule.interval_days !== null) words += ` ${formatInterval(rule.interval_days)}`;
  return words;
}

const eqN = (a, b) => (a === null || b === null ? a === b : eq(a, b));
const sameDose = (a, b) =>
  eqN(a.mg_per_kg, b.mg_per_kg) &&
  eqN(a.flat_mg, b.flat_mg) &&
  a.interval_days === b.interval_days &&
  eqN(a.max_mg, b.max_mg) &&
  a.additional_doses_max === b.additional_doses_max;

function side(dose, bag, atKg, [doseChanges, bagChanges, interval], patientSide) {
  if (doseChanges) {
    let words = `${patientSide ? "the dose is" : "it would be"} ${doseWords(dose, atKg, interval)}`;
    if (bagChanges) words += ` in a ${formatNumber(bag.bag_ml)} mL bag`;
    return words;
  }
  return `${patientSide ? "the bag is" : "it would be"} ${formatNumber(bag.bag_ml)} mL`;
}

function sortedEdges(rows) {
  const edges = [];
  for (const row of rows) {
    for (const e of [row.min_weight_kg, row.max_weight_kg]) {
      if (e !== null && !isZero(e) && !edges.some((x) => eq(x, e))) edges.push(e);
    }
  }
  return edges.sort(cmp);
}

/** Near a weight where the dose or the bag changes, both sides in words (content margin). */
function bandEdgeNotices(checked, rule, rules, shown) {
  const { weightKg } = checked;
  const slug = checked.indication.slug;
  const siblings = rules.dose_rules.filter((d) => d.indication === slug && d.route === rule.route && d.step === rule.step);
  const bags = rule.route === "iv" ? rules.preparation.bags.filter((b) => b.indications.includes(slug)) : [];
  const notices = [];
  for (const edge of sortedEdges([...siblings, ...bags])) {
    if (gt(mul(absD(sub(weightKg, edge)), int(100)), mul(edge, rules.band_margin_percent))) continue;
    const doseUnder = siblings.find((d) => below(d.min_weight_kg, d.max_weight_kg, edge)) || null;
    const doseAtEdge = siblings.find((d) => inBand(edge, d.min_weight_kg, d.max_weight_kg)) || null;
    const bagUnder = bags.find((b) => below(b.min_weight_kg, b.max_weight_kg, edge)) || null;
    const bagAtEdge = bags.find((b) => inBand(edge, b.min_weight_kg, b.max_weight_kg)) || null;
    const doseChanges = Boolean(doseUnder && doseAtEdge && !sameDose(doseUnder, doseAtEdge));
    const bagChanges = Boolean(bagUnder && bagAtEdge && !eq(bagUnder.bag_ml, bagAtEdge.bag_ml));
    if (!(doseChanges || bagChanges)) continue;
    const interval = doseChanges && doseUnder.interval_days !== doseAtEdge.interval_days;
    const changes = [doseChanges, bagChanges, interval];
    const e = formatNumber(edge);
    const [here, other] = lt(weightKg, edge)
      ? [
          `under ${e} kg ${side(doseUnder, bagUnder, weightKg, changes, true)}`,
          `at ${e} kg ${side(doseAtEdge, bagAtEdge, edge, changes, false)}`,
        ]
      : [
          `at ${e} kg and over ${side(doseAtEdge, bagAtEdge, weightKg, changes, true)}`,
          `under ${e} kg ${side(doseUnder, bagUnder, weightKg, changes, false)}`,
        ];
    const message = `${formatNumber(shown)} kg: ${here}; ${other}. Confirm the weight.`;
    notices.push([notice("band_edge", "warning", message, rule.source), other]);
  }
  return notices;
}

function ageNotice(indication, age) {
  if (age === null || indication.min_age_years === null || ge(age, indication.min_age_years)) return null;
  const minimum = formatNumber(indication.min_age_years);
  const who = indication.adult_only ? `adults (${minimum} years and older)` : `patients ${minimum} years and older`;
  return notice(
    "age_below_minimum",
    "danger",
    `${indication.name} is approved for ${who}; this patient is ${formatNumber(age)} years old.`,
    indication.source,
  );
}

function labApplies(labRule, name, value, checked, persistent) {
  const context = checked.context === "starting" ? "starting" : "on_therapy";
  return (
    labRule.lab === LAB_OF_INPUT[name] &&
    (labRule.context === context || labRule.context === "any") &&
    (labRule.route === null || labRule.route === checked.route) &&
    labRule.indications.includes(checked.indication.slug) &&
    (labRule.persistence === "any" || (labRule.persistence === "persistent") === persistent) &&
    labMatches(labRule, value)
  );
}

/** Every matching lab rule explained; the most severe action wins. */
function labFindings(checked, persistent, rules, found) {
  for (const [name, value] of checked.labs) {
    for (const labRule of rules.lab_rules) {
      if (!labApplies(labRule, name, value, checked, persistent)) continue;
      found.sources.push(labRule.source);
      found.warnings.push(
        notice(
          labRule.code,
          ACTION_SEVERITY[labRule.action],
          `${LAB_NAMES[name]} ${checked.labEchoes[name]}: ${labRule.message}`,
          labRule.source,
        ),
      );
      if (labRule.source.needs_review) found.warnings.push(verifyNotice(`the ${LAB_NAMES[name]} rule`, labRule.source));
      if (ACTION_RANK[labRule.action] > ACTION_RANK[found.action]) found.action = labRule.action;
      if (labRule.action === "reduce") {
        found.reduceSource = found.reduceSource || labRule.source;
        const target = labRule.reduce_to_mg_per_kg;
        if (target !== null) {
          const candidates = [found.reduceMgPerKg, target].filter((x) => x !== null && !isZero(x));
          found.reduceMgPerKg = candidates.reduce(minD);
        }
        if (labRule.reduce_to_interval_days !== null) {
          found.reduceInterval = Math.max(found.reduceInterval || 0, labRule.reduce_to_interval_days);
        }
      }
    }
  }
}

/** A rise not confirmed: the step the label gives if it persists, with its own figures. */
function ifPersistentNotices(checked, rule, rules) {
  const notices = [];
  for (const [name, value] of checked.labs) {
    for (const labRule of rules.lab_rules) {
      if (labRule.persistence !== "persistent" || !labApplies(labRule, name, value, checked, true)) continue;
      let figures = "";
      if (labRule.action === "reduce") {
        if (labRule.reduce_to_mg_per_kg !== null && rule.mg_per_kg !== null) {
          const mgPerKg = minD(labRule.reduce_to_mg_per_kg, rule.mg_per_kg);
          const dose = doseAt(rule, mgPerKg, checked.weightKg);
          figures = `${formatNumber(dose)} mg (${formatNumber(mgPerKg)} mg per kg); `;
        } else if (labRule.reduce_to_interval_days !== null && rule.interval_days !== null && rule.flat_mg !== null) {
          const days = Math.max(labRule.reduce_to_interval_days, rule.interval_days);
          figures = `${formatNumber(doseAt(rule, null, checked.weightKg))} mg ${formatInterval(days)}; `;
        }
      }
      notices.push(
        notice(
          `if-persistent-${labRule.code}`,
          ACTION_SEVERITY[labRule.action],
          `${LAB_NAMES[name]} ${checked.labEchoes[name]}, ` + `if the rise persists: ${figures}${labRule.message}`,
          labRule.source,
        ),
      );
    }
  }
  return notices;
}

function advisoryNotices(checked, rules, found) {
  // Standing advisories apply in their context, as lab rules do (resuming is on therapy).
  const context = checked.context === "starting" ? "starting" : "on_therapy";
  for (const advisory of rules.advisories) {
    if (
      advisory.indications.includes(checked.indication.slug) &&
      (advisory.route === null || advisory.route === checked.route) &&
      [context, "any", undefined].includes(advisory.context)
    ) {
      found.sources.push(advisory.source);
      let message = advisory.message;
      if (advisory.source.needs_review) {
        message += ` Verify against the current label (${advisory.source.evidence} evidence).`;
      }
      found.warnings.push(notice(advisory.code, advisory.severity, message, advisory.source));
    }
  }
}

/** An OPEN product route and the product's active notices, as dosing.engine._product_notices. */
function productNotices(checked, found) {
  const product = checked.product;
  const offered = offers(product, checked.indication.slug, checked.route);
  if (offered && offered.source.needs_review) {
    found.sources.push(offered.source);
    found.warnings.push(
      notice(
        "product_route_open",
        "warning",
        `${product.brand_name}'s label is not confirmed for ${checked.indication.name}, ` +
          `${ROUTE_ADJECTIVES[checked.route]} (${offered.source.evidence} evidence): verify against its label.`,
        offered.source,
      ),
    );
  }
  for (const n of product.notices) {
    if (n.active && (n.route === null || n.route === checked.route)) {
      found.sources.push(n.source);
      found.warnings.push(
        notice(`product-${n.code}`, n.severity, `${product.brand_name}: ${n.title}. ${n.text}`, n.source),
      );
    }
  }
}

/** A vial or device used that its product's label is not confirmed for, as
 * dosing.engine._presentation_notices. */
function presentationNotices(checked, prepared, rules, found) {
  const used = new Set([
    ...prepared.vials.map((v) => `vial ${formatNumber(v.strength_mg)}`),
    ...prepared.devices.map((d) => `${d.device} ${formatNumber(d.strength_mg)}`),
  ]);
  const product = checked.product;
  for (const p of presentationsOf(product, rules)) {
    if (!p.source || !p.source.needs_review || p.route !== checked.route) continue;
    if (!used.has(`${p.device} ${formatNumber(p.strength_mg)}`)) continue;
    found.sources.push(p.source);
    found.warnings.push(
      notice(
        "product_presentation_open",
        "warning",
        `${product.brand_name}'s label is not confirmed for the ` +
          `${p.device_label.slice(0, 1).toLowerCase()}${p.device_label.slice(1)} ` +
          `${formatNumber(p.strength_mg)} mg/${formatNumber(p.volume_ml)} mL (${p.source.evidence} evidence): ` +
          "check the carton against its label.",
        p.source,
      ),
    );
  }
}

/** The increased step chosen when starting: the label starts at the starting dose. */
function initiationNotice(checked, rule, rules) {
  if (checked.step !== "increased" || checked.context !== "starting") return null;
  const starting = rules.dose_rules.find(
    (d) =>
      d.indication === rule.indication &&
      d.route === rule.route &&
      d.step === "starting" &&
      inBand(checked.weightKg, d.min_weight_kg, d.max_weight_kg),
  );
  if (!starting || sameDose(starting, rule)) return null;
  const words = doseWords(starting, checked.weightKg, true);
  const found = notice(
    "increased_at_initiation",
    "warning",
    "Starting therapy: the label starts at the starting dose, " +
      `${words}, and increases it based on ` +
      "clinical response. Confirm the increased dose is intended.",
    starting.source,
  );
  return [found, `the starting dose would be ${words}`];
}

// A bag above the content's final concentration limit (mg/mL to 0.1, rounded half up), of the mg drawn into it.
function concentrationNotices(inBagMg, bagMl, limit, found) {
  found.sources.push(limit.source);
  found.warnings.push(
    notice(
      "concentration_above_limit",
      "warning",
      `Final concentration ${formatNumber(divide(inBagMg, bagMl, CONCENTRATION_PLACES))} mg/mL ` +
        `(${formatNumber(inBagMg)} mg in ${formatNumber(bagMl)} mL) is above ` +
        `${formatNumber(limit.max_mg_per_ml)} mg/mL: ${limit.message}`,
      limit.source,
    ),
  );
  if (limit.source.needs_review) found.warnings.push(verifyNotice("the final concentration limit", limit.source));
}

function prepareIv(checked, doseMg, maxMg, rules, found) {
  const preparation = rules.preparation;
  found.sources.push(preparation.source);
  const onRoute = presentationsOf(checked.product, rules).filter((p) => p.route === "iv");
  const volumeMl = divide(doseMg, preparation.concentration_mg_per_ml, VOLUME_PLACES);
  let vials = chooseVials(doseMg, onRoute);
  let vialTotalMg = vialsMg(vials);
  let drawMg = doseMg;
  const whole = wholeVials(doseMg, maxMg, vialTotalMg, onRoute, rules, found);
  if (whole !== null) {
    vials = whole;
    vialTotalMg = vialsMg(whole);
    drawMg = vialTotalMg;
  }
  // Never more than the vials hold, nor above the label maximum.
  const drawn = measureDraw(drawMg, maxMg === null ? vialTotalMg : minD(vialTotalMg, maxMg), rules);
  const bag = preparation.bags.find(
    (b) => b.indications.includes(checked.indication.slug) && inBand(checked.weightKg, b.min_weight_kg, b.max_weight_kg),
  );
  let bagMl = bag ? bag.bag_ml : null;
  // What goes into the bag is the volume drawn up (issue 22.4).
  const inBagMl = drawn === null ? volumeMl : drawn.ml;
  // ... and the mg it holds: the final concentration is of the mg drawn, as the final step says.
  const inBagMg = drawn === null ? drawMg : drawn.mg;
  const doseWords = `${formatNumber(doseMg)} mg (${formatNumber(inBagMl)} mL of drug)`;
  if (bagMl === null) {
    found.warnings.push(
      notice(
        "no_bag_rule",
        "danger",
        `No final bag volume is set for ${checked.indication.name} at this ` +
          `weight: ${doseWords} cannot be prepared. Contact pharmacy.`,
        preparation.source,
      ),
    );
  } else if (le(sub(bagMl, inBagMl), preparation.min_saline_ml)) {
    found.warnings.push(
      notice(
        "preparation_impossible",
        "danger",
        `${doseWords} does not fit a ${formatNumber(bagMl)} mL bag with saline to ` +
          "spare: the label's preparation cannot be followed, and no dose is given. Contact pharmacy.",
        preparation.source,
      ),
    );
    bagMl = null;
  } else if (preparation.concentration_limit && gt(inBagMg, mul(preparation.concentration_limit.max_mg_per_ml, bagMl))) {
    concentrationNotices(inBagMg, bagMl, preparation.concentration_limit, found);
  }
  return {
    volumeMl,
    vials,
    vialTotalMg,
    wasteMg: sub(vialTotalMg, drawn === null ? drawMg : drawn.mg), // what the vials keep after the draw
    bagMl,
    diluents: bagMl !== null ? preparation.diluents : "",
    infusionMinutes: bagMl !== null ? preparation.infusion_minutes : null,
    rate: bagMl === null ? null : divide(mul(bagMl, int(60)), int(preparation.infusion_minutes), RATE_PLACES),
    devices: [],
    impossible: bagMl === null, // the drug has no bag to go in
    drawn,
  };
}

/** The volume a syringe measures and its mg, as dosing.engine.measure. */
function measureDraw(mg, mostMg, rules) {
  const handling = rules.handling;
  if (!handling) return null;
  const conc = rules.preparation.concentration_mg_per_ml;
  const syringes = handling.syringes;
  let syringe = syringes.find((s) => le(mg, mul(s.capacity_ml, conc)));
  let fills = 1;
  if (!syringe && syringes.length) {
    syringe = syringes[syringes.length - 1];
    fills = ceilDiv(mg, mul(syringe.capacity_ml, conc));
  }
  const step = syringe ? syringe.graduation_ml : handling.syringe_precision_ml;
  const unit = mul(conc, step);
  let ml = mul(divide(mg, unit, 0), step);
  if (gt(mul(ml, conc), mostMg)) ml = mul({ n: (mg.n * pow10(unit.s)) / (unit.n * pow10(mg.s)), s: 0 }, step);
  return {
    ml,
    mg: quantize(mul(ml, conc), DOSE_PLACES),
    graduationMl: step,
    syringeMl: syringe ? syringe.capacity_ml : null,
    fills,
    needsReview: Boolean(syringe && syringe.source.needs_review),
  };
}

/** "14 mL in a 20 mL syringe = 280 mg", as dosing.engine.drawn_words. */
function drawnWords(drawn) {
  let volume = `${formatNumber(drawn.ml)} mL`;
  if (drawn.syringeMl !== null) {
    const syringe = `${formatNumber(drawn.syringeMl)} mL syringe`;
    volume += drawn.fills === 1 ? ` in a ${syringe}` : ` in ${drawn.fills} fills of a ${syringe}`;
  }
  return `${volume} = ${formatNumber(drawn.mg)} mg`;
}

/** The site's rounding to whole vials, as dosing.engine._whole_vials. */
function wholeVials(doseMg, maxMg, vialTotalMg, vials, rules, found) {
  const policy = rules.rounding;
  if (!policy || !policy.enabled || !vials.length || eq(vialTotalMg, doseMg)) return null;
  const below = vialsAtMost(doseMg, vials);
  const belowMg = vialsMg(below);
  const options = gt(belowMg, int(0)) ? [[belowMg, below]] : [];
  if (maxMg === null || le(vialTotalMg, maxMg)) options.push([vialTotalMg, chooseVials(doseMg, vials)]);
  const off = (mg) => absD(sub(mg, doseMg));
  const near = options
    .filter(([mg]) => le(mul(off(mg), int(100)), mul(doseMg, policy.within_percent)))
    .sort((a, b) => cmp(off(a[0]), off(b[0])) || cmp(a[0], b[0]));
  if (!near.length) return null;
  const [totalMg, chosen] = near[0];
  found.sources.push(policy.source);
  found.warnings.push(
    notice(
      "site_rounding",
      "warning",
      `Site rounding policy: whole vials, ${formatNumber(totalMg)} mg for the calculated ` +
        `${formatNumber(doseMg)} mg (${deviation(totalMg, doseMg)}; the site rounds within ` +
        `${formatNumber(policy.within_percent)} %). The label states no rounding rule.`,
      policy.source,
    ),
  );
  return chosen;
}

function deviation(givenMg, doseMg) {
  const percent = divide(mul(sub(givenMg, doseMg), int(100)), doseMg, 1);
  if (isZero(percent)) return `less than 0.1 % ${gt(givenMg, doseMg) ? "more" : "less"}`;
  return `${percent.n > 0n ? "+" : "−"}${formatNumber(absD(percent))} %`;
}

const NOTHING_PREPARED = {
  volumeMl: null,
  vials: [],
  vialTotalMg: null,
  wasteMg: null,
  bagMl: null,
  diluents: "",
  infusionMinutes: null,
  rate: null,
  devices: [],
  impossible: false,
  drawn: null,
};

function prepareSc(checked, doseMg, rules) {
  const devices = presentationsOf(checked.product, rules)
    .filter((p) => p.route === "sc")
    .map((p) => ({ device: p.device, label: p.device_label, strength_mg: p.strength_mg, volume_ml: p.volume_ml }));
  let volumeMl = null;
  if (devices.length) {
    const first = devices[0];
    volumeMl = divide(mul(doseMg, first.volume_ml), first.strength_mg, VOLUME_PLACES);
  }
  return { ...NOTHING_PREPARED, volumeMl, devices };
}

function withDefaults(inputs) {
  const pick = (key, fallback) => (inputs[key] === undefined ? fallback : inputs[key]);
  return {
    indication: inputs.indication,
    route: inputs.route,
    weight: inputs.weight,
    weight_unit: pick("weight_unit", "kg"),
    step: pick("step", "starting"),
    age_years: pick("age_years", null),
    starting_therapy: pick("starting_therapy", true),
    resuming_after_hold: pick("resuming_after_hold", false),
    persistent_rise: pick("persistent_rise", false),
    confirmed: pick("confirmed", false),
    labs: pick("labs", null) || {},
    dose_number: pick("dose_number", 1),
    previous_dose_start: pick("previous_dose_start", null),
    time_zone: pick("time_zone", "UTC"),
    now: pick("now", null), // when this dose would start (the device's clock, passed in)
    product: pick("product", "actemra"),
  };
}

/**
 * Dose, preparation and warnings for one patient, from the rules snapshot (as the API sends it).
 * Returns the API's result shape; throws InputError for input outside the domain.
 */
export function calculate(rawInputs, rulesData) {
  return calculateWith(withDefaults(rawInputs), load(rulesData), true);
}

/** "18 kg would be 216 mg every 2 weeks": the same patient at another weight, as dosing.engine._would_be. */
function wouldBe(inputs, rules, weight) {
  let other;
  try {
    other = calculateWith({ ...inputs, weight: plain(weight), confirmed: true }, rules, false);
  } catch (error) {
    if (error instanceof InputError) return "";
    throw error;
  }
  if (other.dose_mg === null) return "";
  let words = `${formatNumber(weight)} ${inputs.weight_unit} would be ${other.display.dose}`;
  if (other.interval_days !== null) words += ` ${formatInterval(other.interval_days)}`;
  return words;
}

function calculateWith(inputs, rules, alternatives) {
  const checked = checkInputs(inputs, rules);
  const { indication, route, step, weightKg } = checked;

  const rule = rules.dose_rules.find(
    (d) =>
      d.indication === indication.slug &&
      d.route === route &&
      d.step === step &&
      inBand(weightKg, d.min_weight_kg, d.max_weight_kg),
  );
  if (!rule) throw new InputError("weight", `No dose rule covers ${formatNumber(weightKg)} kg.`);
  const course = courseOf(checked, rule, inputs);
  const edges = sortedEdges([
    ...rules.dose_rules.filter((d) => d.indication === indication.slug),
    ...rules.preparation.bags.filter((b) => b.indications.includes(indication.slug)),
  ]);
  const shown = shownKg(weightKg, edges);

  // The dose rule's section first: it is the "why" behind the headline figure.
  const found = {
    action: "give",
    reduceMgPerKg: null,
    reduceInterval: null,
    warnings: [],
    sources: [rule.source, indication.source],
    alternatives: new Map(), // a check's alternative, keyed by its message
  };
  let nextStep = rule.next_step;
  if (indication.source.needs_review) found.warnings.push(verifyNotice(indication.name, indication.source));
  if (rule.source.needs_review) found.warnings.push(verifyNotice(`this ${ROUTE_ADJECTIVES[route]} dose`, rule.source));
  const age = ageNotice(indication, checked.age);
  if (age !== null) {
    found.action = "not_recommended";
    found.warnings.push(age);
  }
  const alternative = alternatives ? (weight) => wouldBe(inputs, rules, weight) : null;
  if (checked.age === null && !indication.adult_only) found.warnings.push(ageNeededNotice(shown, indication));
  for (const pair of [weightPlausibility(checked, shown, rules, alternative), initiationNotice(checked, rule, rules)]) {
    if (pair === null) continue;
    found.warnings.push(pair[0]);
    found.alternatives.set(pair[0].message, pair[1]);
  }
  const early = earlyStartNotice(course, rule);
  if (early !== null) found.warnings.push(early);

  let mgPerKg = rule.mg_per_kg;
  let intervalDays = rule.interval_days;
  if (checked.context === "resuming") {
    const resume = rules.resume_rules.find(
      (r) =>
        r.indication === indication.slug && r.route === route && inBand(weightKg, r.min_weight_kg, r.max_weight_kg),
    );
    if (!resume) {
      found.warnings.push(
        notice(
          "resume_not_stated",
          "warning",
          `The label gives no dose for resuming ${indication.name} ` +
            `(${ROUTE_ADJECTIVES[route]}) after a hold: the usual dose is shown. Decide ` +
            "the dose with the prescriber.",
          rule.source,
        ),
      );
    } else {
      found.sources.push(resume.source);
      if (resume.source.needs_review) found.warnings.push(verifyNotice("the dose after a hold", resume.source));
      if (resume.mg_per_kg !== null && mgPerKg !== null) mgPerKg = resume.mg_per_kg;
      if (resume.interval_days !== null) intervalDays = resume.interval_days;
      nextStep = resume.next_step;
    }
  }

  labFindings(checked, inputs.persistent_rise, rules, found);
  if (!inputs.persistent_rise) found.warnings.push(...ifPersistentNotices(checked, rule, rules));
  advisoryNotices(checked, rules, found);
  productNotices(checked, found);

  if (found.action === "reduce") {
    const reduceMg = found.reduceMgPerKg;
    const reduceDays = found.reduceInterval;
    const reducedMg = mgPerKg !== null && reduceMg !== null && lt(reduceMg, mgPerKg) ? reduceMg : mgPerKg;
    const reducedDays =
      intervalDays !== null && reduceDays !== null && reduceDays > intervalDays ? reduceDays : intervalDays;
    if (reducedMg === mgPerKg && reducedDays === intervalDays) {
      // Already at the reduced step: never chart a "reduced dose" equal to the current one; hold.
      found.action = "hold";
      found.warnings.push(alreadyReducedNotice(mgPerKg, intervalDays, found.reduceSource || rule.source));
    } else {
      mgPerKg = reducedMg;
      intervalDays = reducedDays;
      nextStep = "Return to the usual dose as the lab values allow (see the warnings).";
    }
  }
  let action = found.action;
  let gives = action === "give" || action === "reduce";
  if (!gives) nextStep = "See the warnings: the most severe finding decides.";

  let calculatedMg = null;
  let doseMg = null;
  let capped = false;
  let prepared = NOTHING_PREPARED;
  if (gives) {
    calculatedMg = mgPerKg !== null ? quantize(mul(weightKg, mgPerKg), DOSE_PLACES) : rule.flat_mg;
    capped = rule.max_mg !== null && gt(calculatedMg, rule.max_mg);
    doseMg = capped ? rule.max_mg : calculatedMg;
    for (const [edgeNotice, other] of bandEdgeNotices(checked, rule, rules, shown)) {
      found.warnings.push(edgeNotice);
      found.alternatives.set(edgeNotice.message, other);
    }
    const threshold = rules.uncapped_note_above_mg;
    if (rule.max_mg === null && mgPerKg !== null && threshold !== null && gt(doseMg, threshold)) {
      found.warnings.push(
        notice(
          "no_label_maximum",
          "warning",
          `The label states no maximum dose for ${indication.name}: ` +
            `${formatNumber(doseMg)} mg is above ${thresholdWords(threshold, rules)}. ` +
            "Check the weight and the dose.",
          rule.source,
        ),
      );
    }
    prepared =
      route === "iv" ? prepareIv(checked, doseMg, rule.max_mg, rules, found) : prepareSc(checked, doseMg, rules);
    if (!prepared.impossible) presentationNotices(checked, prepared, rules, found);
  }

  let headline = null;
  if (prepared.impossible) {
    // A dose with nowhere to go is not a dose to give: no figures, no schedule, the danger.
    action = "not_recommended";
    gives = false;
    headline = UNPREPARABLE_HEADLINE;
    nextStep = "Contact pharmacy: see the warnings.";
    [calculatedMg, doseMg, capped, prepared] = [null, null, false, NOTHING_PREPARED];
  }

  // No dose, no schedule: a hold or a discontinue carries no interval and no repeat.
  let repeat = null;
  if (gives && course !== null) {
    repeat = {
      additional_doses_max: rule.additional_doses_max,
      min_hours_apart: rule.min_hours_apart,
      condition: rule.repeat_condition,
      dose_number: course.doseNumber,
      doses_max: course.dosesMax,
      previous_dose_start: course.previous === null ? null : isoMinute(course.previous, course.zone),
      not_before: course.notBefore === null ? null : isoMinute(course.notBefore, course.zone),
    };
  }

  // The chart note's and the sheet's words for the step, as dosing.engine._step_words.
  let stepWords = `${step} dose`;
  if (checked.context === "resuming") stepWords = "resuming after a hold";
  else if (found.warnings.some((w) => w.code === "already_reduced")) {
    stepWords = `already at the reduced dose (${reducedWords(mgPerKg, intervalDays)})`;
  } else if (action === "reduce") stepWords = `reduced dose, from the ${step} dose`;

  // The findings to confirm before a dose is given: a give or a reduce waits as "check".
  const checks = gives
    ? orderedWarnings(found.warnings, rules, false)
        .filter((w) => isCheck(w.code))
        .map((w) => ({
          code: w.code,
          message: w.message,
          alternative: found.alternatives.get(w.message) || "",
          label_section: w.label_section,
          anchor: w.anchor,
        }))
    : [];
  let actionIfConfirmed = null;
  if (checks.length && !inputs.confirmed) {
    actionIfConfirmed = action;
    action = "check";
  }

  const result = {
    action,
    indication: indication.slug,
    indication_name: indication.name,
    route,
    step,
    weight_kg: shown,
    weight_input: checked.weight,
    weight_unit: inputs.weight_unit,
    dose_mg: doseMg,
    mg_per_kg: gives ? mgPerKg : null,
    calculated_mg: calculatedMg,
    capped,
    max_mg: rule.max_mg,
    interval_days: gives ? intervalDays : null,
    repeat,
    next_step: nextStep,
    concomitant: rule.concomitant,
    volume_ml: prepared.volumeMl,
    vials: prepared.vials,
    vial_total_mg: prepared.vialTotalMg,
    waste_mg: prepared.wasteMg,
    bag_ml: prepared.bagMl,
    // The product's diluents (TOFIDENCE names 0.9 % only): shown with the bag, as before.
    diluents: prepared.diluents ? checked.product.diluents : "",
    infusion_minutes: prepared.infusionMinutes,
    rate_ml_per_hour: prepared.rate,
    devices: prepared.devices,
    warnings: orderedWarnings(found.warnings, rules, checks.length > 0),
    references: references(found.sources),
    content_version: rules.content_version,
    checks,
    action_if_confirmed: actionIfConfirmed,
    confirmed: checks.length > 0 && actionIfConfirmed === null,
    stepWords,
    // The volume to draw for a dose to prepare now: none while it waits for a check, or with no bag.
    drawn: action === "check" || prepared.bagMl === null ? null : prepared.drawn,
    shownDrawn: prepared.drawn,
  };
  const display = describe(result);
  if (headline !== null) display.headline = headline;
  display.product = productName(checked.product);
  result.product = resultProduct(checked.product);
  return prepare(toData(result, display), result, rules);
}

/** What the uncapped-dose note's figure is, as dosing.engine._threshold_words. */
function thresholdWords(threshold, rules) {
  const caps = rules.dose_rules.filter((d) => d.max_mg !== null).map((d) => d.max_mg);
  const largest = caps.reduce((a, b) => (gt(b, a) ? b : a), caps[0] ?? null);
  if (largest !== null && cmp(threshold, largest) === 0) {
    return `${formatNumber(threshold)} mg, the largest maximum dose the label states for any indication`;
  }
  return `${formatNumber(threshold)} mg, the threshold this site set for doses the label does not cap`;
}

/** The reduced step in its figure: "4 mg/kg", or the interval, as dosing.engine._reduced_words. */
function reducedWords(mgPerKg, intervalDays) {
  return mgPerKg !== null ? `${formatNumber(mgPerKg)} mg/kg` : formatInterval(intervalDays);
}

function alreadyReducedNotice(mgPerKg, intervalDays, source) {
  const reduced = reducedWords(mgPerKg, intervalDays);
  return notice(
    "already_reduced",
    "warning",
    `Already at the reduced dose (${reduced}): the label has no further reduction. ` +
      "Hold until the values are normal, the label's other step.",
    source,
  );
}

// No age for an indication that also treats children: the weight cannot be checked for age.
function ageNeededNotice(shown, indication) {
  return notice(
    "age_needed",
    "warning",
    `Enter the age: ${indication.name} is also for children, and without an age ` +
      `${formatNumber(shown)} kg cannot be checked against the usual weights for age.`,
    indication.source,
  );
}

/** Severity first; within one severity, findings about this patient before standing advisories.
 * With a dose to confirm (`checksFirst`), the findings to confirm lead (issue 22). */
function orderedWarnings(warnings, rules, checksFirst) {
  const advisoryCodes = new Set(rules.advisories.map((a) => a.code));
  const rank = (w) =>
    (checksFirst && !isCheck(w.code) ? 10 : 0) + SEVERITY_RANK[w.severity] * 2 + (advisoryCodes.has(w.code) ? 1 : 0);
  return [...warnings].sort((a, b) => rank(a) - rank(b)); // stable, as Python's sort
}

/** The usual weights for this patient ([lowest, highest, who]) from content, or null. */
function plausibleWeights(age, indication, rules) {
  if (!rules.plausible_weights.length) return null;
  if (age === null && indication.adult_only && indication.min_age_years !== null) age = indication.min_age_years;
  let rows;
  let who;
  if (age !== null) {
    rows = rules.plausible_weights.filter(
      (p) => le(p.min_age_years, age) && (p.max_age_years === null || lt(age, p.max_age_years)),
    );
    const isMinimum = indication.min_age_years !== null && eq(age, indication.min_age_years);
    who = !isMinimum || !indication.adult_only ? `a ${formatNumber(age)}-year-old` : "an adult";
  } else {
    rows = rules.plausible_weights;
    who = "any patient";
  }
  if (!rows.length) return null;
  return [rows.map((p) => p.min_weight_kg).reduce(minD), rows.map((p) => p.max_weight_kg).reduce(maxD), who];
}

/** An unusual weight for the age, with the weight one digit shorter or longer (180 for 18, 7 for
 * 70) named where that weight is usual, as dosing.engine._weight_plausibility. */
function weightPlausibility(checked, shown, rules, wouldBeAt) {
  const usual = plausibleWeights(checked.age, checked.indication, rules);
  if (usual === null) return null;
  const [low, high, who] = usual;
  if (le(low, checked.weightKg) && le(checked.weightKg, high)) return null;
  let alternative = "";
  if (wouldBeAt !== null) {
    const other = gt(checked.weightKg, high) ? divide(checked.weight, int(10), checked.weight.s + 1) : mul(checked.weight, int(10));
    const otherKg = toKg(other, checked.weightUnit);
    if (le(low, otherKg) && le(otherKg, high)) alternative = wouldBeAt(other);
  }
  let message =
    `Check the weight: ${formatNumber(shown)} kg is unusual for ${who} ` +
    `(expected ${formatNumber(low)} to ${formatNumber(high)} kg).`;
  if (alternative) message += ` ${alternative}.`;
  return [
    {
      code: "weight_implausible",
      severity: "warning",
      message: `${message} The dose below uses the weight as entered.`,
      label_section: "",
      anchor: "",
    },
    alternative,
  ];
}

/** Each label section once, linked to the first place that cited it. */
function references(sources) {
  const seen = new Map();
  for (const source of sources) {
    if (!seen.has(source.label_section)) {
      seen.set(source.label_section, { label_section: source.label_section, anchor: source.anchor });
    }
  }
  return [...seen.values()];
}

/** The words and figures a clinician reads, exactly as dosing.engine.describe writes them. */
function describe(result) {
  const fmt = formatNumber;
  const text = {
    headline: HEADLINES[result.action],
    route: ROUTE_WORDS[result.route],
    weight:
      result.weight_unit === "lb"
        ? `${fmt(result.weight_input)} lb = ${fmt(result.weight_kg)} kg`
        : `${fmt(result.weight_kg)} kg`,
    dose: "",
    dose_detail: "",
    volume: "",
    volume_exact: "",
    vials: "",
    waste: "",
    bag: "",
    rate: "",
    interval: "",
    step: result.stepWords,
    devices: "",
  };
  if (result.dose_mg !== null) {
    text.dose = `${fmt(result.dose_mg)} mg`;
    if (result.mg_per_kg !== null) {
      let detail = `${fmt(result.mg_per_kg)} mg/kg × ${fmt(result.weight_kg)} kg`;
      if (result.capped) {
        detail +=
          ` = calculated ${fmt(result.calculated_mg)} mg, capped at the label ` + `maximum ${fmt(result.max_mg)} mg`;
      }
      text.dose_detail = detail;
    } else {
      text.dose_detail = "fixed dose";
    }
  }
  if (result.shownDrawn) {
    // The measurable volume leads; the calculated one is on request (issue 22.4).
    text.volume = drawnWords(result.shownDrawn);
    text.volume_exact = `${fmt(result.volume_ml)} mL`;
  } else if (result.volume_ml !== null) {
    text.volume = `${fmt(result.volume_ml)} mL`;
  }
  if (result.vials.length) {
    text.vials = result.vials
      .map((v) => `${v.count} × ${fmt(v.strength_mg)} mg/${fmt(v.volume_ml)} mL ${v.count === 1 ? "vial" : "vials"}`)
      .join(" + ");
    text.waste = `${fmt(result.waste_mg)} mg unused (discard)`;
  }
  if (result.bag_ml !== null) {
    text.bag = `Dilute to ${fmt(result.bag_ml)} mL with ${result.diluents}`;
    text.rate = `${fmt(result.rate_ml_per_hour)} mL/hour over ${result.infusion_minutes} minutes`;
  }
  if (result.devices.length) {
    text.devices = result.devices.map((d) => `${d.label} ${fmt(d.strength_mg)} mg/${fmt(d.volume_ml)} mL`).join(" or ");
  }
  if (result.interval_days !== null) {
    text.interval = formatInterval(result.interval_days);
  } else if (result.repeat !== null) {
    text.interval = repeatWords(result.repeat);
  }
  return text;
}

/** As dosing.engine._interval_text for a course: a repeat dose's place and earliest start. */
function repeatWords(repeat) {
  const hours = repeat.min_hours_apart;
  if (repeat.not_before === null) {
    const more = repeat.additional_doses_max;
    return (
      `single dose; ${repeat.condition}, up to ${more} additional ` +
      `${more === 1 ? "dose" : "doses"} at least ${hours} hours apart`
    );
  }
  const left = repeat.doses_max - repeat.dose_number;
  const after = left ? `${repeat.condition}, up to ${left} more at least ${hours} hours apart` : "the label allows no further dose";
  return (
    `${ordinal(repeat.dose_number)} of up to ${repeat.doses_max} doses; not before ` +
    `${formatMoment(isoWall(repeat.not_before))}, ${hours} hours after the previous dose started; ${after}`
  );
}

/** The result as the API returns it (dosing.engine.result_to_dict): every figure a number. */
function toData(result, display) {
  return {
    action: result.action,
    indication: result.indication,
    indication_name: result.indication_name,
    route: result.route,
    step: result.step,
    weight_kg: asNumber(result.weight_kg),
    dose_mg: asNumber(result.dose_mg),
    mg_per_kg: asNumber(result.mg_per_kg),
    calculated_mg: asNumber(result.calculated_mg),
    capped: result.capped,
    max_mg: asNumber(result.max_mg),
    interval_days: result.interval_days,
    repeat: result.repeat,
    next_step: result.next_step,
    concomitant: result.concomitant,
    volume_ml: asNumber(result.volume_ml),
    vials: result.vials.map((v) => ({
      strength_mg: asNumber(v.strength_mg),
      volume_ml: asNumber(v.volume_ml),
      count: v.count,
    })),
    vial_total_mg: asNumber(result.vial_total_mg),
    waste_mg: asNumber(result.waste_mg),
    bag_ml: asNumber(result.bag_ml),
    diluents: result.diluents,
    infusion_minutes: result.infusion_minutes,
    rate_ml_per_hour: asNumber(result.rate_ml_per_hour),
    devices: result.devices.map((d) => ({
      device: d.device,
      label: d.label,
      strength_mg: asNumber(d.strength_mg),
      volume_ml: asNumber(d.volume_ml),
    })),
    warnings: result.warnings,
    references: result.references,
    content_version: result.content_version,
    display,
    checks: result.checks,
    action_if_confirmed: result.action_if_confirmed,
    confirmed: result.confirmed,
    draw_ml: result.drawn ? asNumber(result.drawn.ml) : null,
    draw_mg: result.drawn ? asNumber(result.drawn.mg) : null,
    syringe_ml: result.drawn ? asNumber(result.drawn.syringeMl) : null,
    product: result.product,
  };
}

function resultProduct(product) {
  return {
    slug: product.slug,
    brand_name: product.brand_name,
    nonproprietary_name: product.nonproprietary_name,
    biosimilar: product.biosimilar,
    label_name: product.label_name,
    label_url: product.label_url,
    label_revision: product.label_revision,
  };
}

/** The diluted bag's storage in the product's diluents, as dosing.engine.product_storage. */
function productStorage(result, rules, handling) {
  if (!result.diluents || result.diluents === rules.preparation.diluents) return handling.storage;
  return handling.storage.filter((s) => result.diluents.includes(s.diluent));
}

// ---------------------------------------------------------------------------------------------
// Preparation (issue 15), as dosing.engine.prepare: the bedside work in the order it is done, the
// next dose and the chart note. Clock-dependent words take `now` (the phone's clock on the page).

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

function loadHandling(handling) {
  if (!handling) return null;
  const syringes = (handling.syringes || [])
    .map((s) => ({ ...s, capacity_ml: D(s.capacity_ml), graduation_ml: D(s.graduation_ml) }))
    .sort((a, b) => cmp(a.capacity_ml, b.capacity_ml) || cmp(a.graduation_ml, b.graduation_ml));
  return { ...handling, syringe_precision_ml: D(handling.syringe_precision_ml), syringes };
}

const hoursWords = (hours) => `${hours} hour${hours === 1 ? "" : "s"}`;

function storageWords(storage) {
  const diluents = new Map();
  for (const row of storage) {
    if (!diluents.has(row.diluent)) diluents.set(row.diluent, []);
    diluents.get(row.diluent).push(row);
  }
  const parts = [];
  for (const [diluent, rows] of diluents) {
    if (new Set(rows.map((r) => r.max_hours)).size === 1) {
      const places = rows.map((r) => `at ${r.temperature}`).join(" or ");
      parts.push(`in ${diluent} up to ${hoursWords(rows[0].max_hours)} ${places}`);
    } else {
      const places = rows.map((r) => `${hoursWords(r.max_hours)} at ${r.temperature}`).join(" or ");
      parts.push(`in ${diluent} up to ${places}`);
    }
  }
  return parts.join("; ");
}

function ivSteps(result, drawn, display, rules, handling) {
  const fmt = formatNumber;
  const kept = productStorage(result, rules, handling);
  const conc = rules.preparation.concentration_mg_per_ml;
  const dose = fmt(result.dose_mg);
  const draw = drawn.ml;
  let measured = `measured to the nearest ${fmt(drawn.graduationMl)} mL`;
  if (drawn.syringeMl !== null) measured += ` on a ${fmt(drawn.syringeMl)} mL syringe`;
  if (drawn.needsReview) {
    measured +=
      " (the syringe graduations are site content flagged for review: check them against the syringe used)";
  }
  const waste = isZero(result.waste_mg)
    ? "nothing is left over"
    : `${fmt(result.waste_mg)} mg will be left unused: discard it (single-dose vials)`;
  const texts = [
    ["vials", `Take ${display.vials} from the refrigerator (${fmt(result.vial_total_mg)} mg); ${waste}.`, ""],
    [
      "saline",
      `From a ${fmt(result.bag_ml)} mL bag of ${result.diluents}, withdraw ` +
        `and discard ${fmt(draw)} mL of saline, equal to the drug volume.`,
      "",
    ],
    [
      "draw",
      `Draw up ${drawnWords(drawn)} of ${display.product} ${fmt(conc)} mg/mL from the vials.`,
      `Calculated volume ${fmt(result.volume_ml)} mL (${dose} mg ÷ ${fmt(conc)} mg/mL), ${measured}.`,
    ],
    ["add", handling.mixing, ""],
    ["final", `Final volume ${fmt(result.bag_ml)} mL (${fmt(drawn.mg)} mg in ${fmt(result.bag_ml)} mL).`, ""],
    ["infuse", `Infuse over ${result.infusion_minutes} minutes at ${fmt(result.rate_ml_per_hour)} mL/hour.`, ""],
    ["line", handling.line, ""],
    ["storage", kept.length ? `If not started at once, the diluted bag keeps ${storageWords(kept)}.` : "", ""],
    ["light", handling.light, ""],
  ];
  const { label_section, anchor } = handling.source;
  return texts.filter(([, text]) => text).map(([code, text, exact]) => ({ code, text, exact, label_section, anchor }));
}

function scSteps(result, handling) {
  const fmt = formatNumber;
  const first = result.devices[0];
  const labels = result.devices.map((d) => d.label.slice(0, 1).toLowerCase() + d.label.slice(1)).join(" or ");
  let take = `Take one ${labels} (${fmt(first.strength_mg)} mg/${fmt(first.volume_ml)} mL) from the refrigerator`;
  if (handling.sc_warm_minutes) {
    take +=
      ` and leave it out of the refrigerator for about ${handling.sc_warm_minutes} minutes ` +
      "to reach room temperature before injecting";
  }
  const texts = [
    ["take", `${take}.`],
    ["inject", `Inject the full ${fmt(result.volume_ml)} mL (${fmt(result.dose_mg)} mg) subcutaneously.`],
  ];
  const { label_section, anchor } = handling.source;
  return texts.map(([code, text]) => ({ code, text, exact: "", label_section, anchor }));
}

function nextDoseOf(result) {
  if (result.action !== "give" && result.action !== "reduce") return null;
  if (result.interval_days !== null) return { kind: "due", days: result.interval_days, hours: null, not_before: null };
  const repeat = result.repeat;
  if (repeat !== null && repeat.dose_number < repeat.doses_max) {
    return { kind: "no_sooner", days: null, hours: repeat.min_hours_apart, not_before: repeat.not_before };
  }
  return null;
}

// The engine's own findings that decide an action (lab rules carry theirs), as dosing.engine.
const DECIDING_CODES = {
  already_reduced: "hold",
  age_below_minimum: "not_recommended",
  no_bag_rule: "not_recommended",
  preparation_impossible: "not_recommended",
};

/** The findings that decided a result other than a give, as dosing.engine.reasons. */
function reasons(result, rules) {
  if (result.action === "give" || result.action === "check") return [];
  const deciding = { ...Object.fromEntries(rules.lab_rules.map((r) => [r.code, r.action])), ...DECIDING_CODES };
  const actions = new Set([result.action]);
  // The persistent rise the reduced step cannot take further.
  if (result.warnings.some((w) => w.code === "already_reduced")) actions.add("reduce");
  return result.warnings.filter((w) => actions.has(deciding[w.code]));
}

function chartNote(data, result, draw, handling, steps, rules) {
  const d = data.display;
  const fmt = formatNumber;
  const lines = [];
  if (result.dose_mg !== null) {
    const when = d.interval ? `, ${d.interval}` : "";
    const headline = result.action === "give" ? "" : ` ${d.headline}.`;
    lines.push(`${d.product}: ${d.dose} by ${ROUTE_WORDS[result.route]}${when}.${headline}`);
  } else {
    lines.push(`${d.product}: ${d.headline}.`);
  }
  if (result.product.biosimilar) {
    lines.push(`Product: ${d.product}, biosimilar; its label: ${result.product.label_name}.`);
  }
  // The reason for a hold, a reduction or a stop comes first, then the standing warnings.
  const why = reasons(result, rules);
  if (why.length) lines.push(`Reason: ${why.map((w) => w.message).join(" ")}`);
  lines.push(`Indication: ${result.indication_name}; ${d.step}.`);
  lines.push(`Weight used: ${d.weight}.`);
  if (result.dose_mg !== null) {
    let basis;
    if (result.capped) basis = d.dose_detail;
    else if (result.mg_per_kg !== null) basis = `${d.dose_detail} = ${d.dose}`;
    else basis = `fixed dose of ${d.dose}`;
    lines.push(`Dose basis: ${basis}.`);
  }
  if (result.route === "iv" && steps.length) {
    lines.push(
      `Preparation: ${d.vials}, ${fmt(result.waste_mg)} mg unused and ` +
        `discarded; ${d.volume} drawn up and added to a ${fmt(result.bag_ml)} mL bag of ` +
        `${result.diluents} after removing ${fmt(draw)} mL of saline; final volume ${fmt(result.bag_ml)} mL; ` +
        `infused over ${result.infusion_minutes} minutes at ${fmt(result.rate_ml_per_hour)} mL/hour with an infusion set.`,
    );
  } else if (result.devices.length && result.volume_ml !== null) {
    lines.push(`Preparation: ${d.devices}; full ${fmt(result.volume_ml)} mL injected subcutaneously.`);
  }
  if (result.confirmed) {
    const seen = [...new Set(result.checks.map((c) => CHECK_WORDS[c.code]))];
    lines.push(`Confirmed before giving: ${seen.join("; ")}.`);
  }
  const applied = result.warnings.filter((w) => w.severity !== "info" && !why.includes(w)).map((w) => w.message);
  lines.push(`Warnings: ${applied.length ? applied.join(" ") : "none."}`);
  const sections = result.references.map((r) => r.label_section).join(", ");
  lines.push(`Content version ${result.content_version} (US label sections ${sections}).`);
  return lines.join("\n");
}

function prepare(data, result, rules) {
  const handling = rules.handling;
  if (!handling) return data;
  if (result.action === "check") {
    // Nothing to prepare, print or chart until the clinician confirms (issue 22).
    return {
      ...data,
      preparation_steps: [],
      saline_remove_ml: null,
      use_within: [],
      next_dose: null,
      chart_note: "",
    };
  }
  let steps = [];
  let draw = null;
  let useWithin = [];
  if (result.dose_mg !== null && result.drawn) {
    // The saline removed equals the drug volume as measured (label: "equal to the drug volume").
    draw = result.drawn.ml;
    // A drug volume that fills the bag cannot be prepared as the label says: no steps pretend otherwise.
    if (lt(draw, result.bag_ml)) steps = ivSteps(result, result.drawn, data.display, rules, handling);
    useWithin = productStorage(result, rules, handling).map((s) => ({ diluent: s.diluent, temperature: s.temperature, max_hours: s.max_hours }));
  } else if (result.dose_mg !== null && result.devices.length && result.volume_ml !== null) {
    steps = scSteps(result, handling);
  }
  return {
    ...data,
    preparation_steps: steps,
    saline_remove_ml: asNumber(draw),
    use_within: useWithin,
    next_dose: nextDoseOf(result),
    chart_note: chartNote(data, result, draw, handling, steps, rules),
  };
}

// Clocks (issue 22.5), as dosing.engine: hours are elapsed time (milliseconds since the epoch),
// written on the wall clock of the site's zone (`zone`; undefined: the phone's own). 8 hours from
// 01:30 on the night the clocks go forward is 10:30, never the wall clock's 09:30.
const HOUR_MS = 3600 * 1000;
const MINUTE_MS = 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const two = (n) => String(n).padStart(2, "0");
// Python's weekday(): Monday is 0. A "wall" is a Date whose UTC fields are the local ones.
const formatDay = (wall) =>
  `${WEEKDAYS[(wall.getUTCDay() + 6) % 7]} ${wall.getUTCDate()} ${MONTHS[wall.getUTCMonth()]} ${wall.getUTCFullYear()}`;
const formatMoment = (wall) => `${two(wall.getUTCHours())}:${two(wall.getUTCMinutes())} on ${formatDay(wall)}`;
const hhmm = (wall) => `${two(wall.getUTCHours())}:${two(wall.getUTCMinutes())}`;

const zoneFormats = new Map();
function zoneFormat(zone) {
  let format = zoneFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    zoneFormats.set(zone, format);
  }
  return format;
}

/** The IANA zone `name`, as dosing.engine.time_zone: an unknown one is an error on time_zone. */
function timeZone(name) {
  try {
    zoneFormat(String(name));
  } catch {
    throw new InputError("time_zone", `Unknown time zone '${name}': use an IANA name such as Europe/London.`);
  }
  return String(name);
}

/** The wall clock of instant `ms` in `zone`. */
function wallIn(ms, zone) {
  const p = Object.fromEntries(
    zoneFormat(zone)
      .formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]),
  );
  return new Date(Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second));
}

const offsetAt = (ms, zone) => wallIn(ms, zone).getTime() - Math.floor(ms / 1000) * 1000;

/** "2026-03-08T14:30-04:00", as dosing.engine.iso_minute. */
function isoMinute(ms, zone) {
  const wall = wallIn(ms, zone);
  const minutes = Math.round(offsetAt(ms, zone) / MINUTE_MS);
  const sign = minutes < 0 ? "-" : "+";
  const offset = `${sign}${two(Math.floor(Math.abs(minutes) / 60))}:${two(Math.abs(minutes) % 60)}`;
  const day = `${wall.getUTCFullYear()}-${two(wall.getUTCMonth() + 1)}-${two(wall.getUTCDate())}`;
  return `${day}T${hhmm(wall)}${offset}`;
}

// The wall clock an ISO 8601 moment with an offset names (its own offset, as Python reads it).
function isoWall(text) {
  const offset = text.slice(16);
  const minutes = (offset[0] === "-" ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  return new Date(Date.parse(text) + minutes * MINUTE_MS);
}

const MOMENT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?(Z|[+-][0-9]{2}:[0-9]{2})?$/;
const MOMENT_ALLOWED = "Enter the date and time as YYYY-MM-DD HH:MM (for example 2026-03-08 06:30).";

/** A typed date and time in `zone` (or with its own offset) as ms, as dosing.engine.read_moment:
 * a time the zone skips is an error, one it shows twice the later; seconds round up. */
export function readMoment(field, value, zone, earliest = false) {
  const match = typeof value === "string" ? MOMENT.exec(value.trim()) : null;
  if (!match) throw new InputError(field, MOMENT_ALLOWED);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((g) => Number(g || 0));
  const offset = match[7];
  if (year < 2000 || year > 2199) throw new InputError(field, MOMENT_ALLOWED);
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second);
  const wall = new Date(wallMs);
  const fields = [wall.getUTCFullYear(), wall.getUTCMonth() + 1, wall.getUTCDate(), wall.getUTCHours(), wall.getUTCMinutes()];
  if (fields.join() !== [year, month, day, hour, minute].join() || second > 59) throw new InputError(field, MOMENT_ALLOWED);
  let ms;
  if (offset) {
    const minutes = offset === "Z" ? 0 : (offset[0] === "-" ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
    if (Math.abs(minutes) >= 24 * 60) throw new InputError(field, MOMENT_ALLOWED);
    ms = wallMs - minutes * MINUTE_MS;
  } else {
    const found = [-DAY_MS, 0, DAY_MS]
      .map((shift) => wallMs - offsetAt(wallMs + shift, zone))
      .filter((candidate) => wallIn(candidate, zone).getTime() === wallMs);
    if (!found.length) {
      throw new InputError(
        field,
        `${two(hour)}:${two(minute)} on ${formatDay(wall)} does not exist in ${zone}: ` +
          "the clocks went forward that night. Enter the time the clock showed.",
      );
    }
    ms = earliest ? Math.min(...found) : Math.max(...found);
  }
  if (second) ms = Math.floor(ms / MINUTE_MS) * MINUTE_MS + (earliest ? 0 : MINUTE_MS);
  return ms;
}

// As dosing.engine._duration: "4 h 30 min", "45 min".
const duration = (minutes) => (minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`);

const minuteOf = (now) => Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;

/** As dosing.engine.next_dose_text; `now` is a Date, `zone` the site's (undefined: the phone's). */
export function nextDoseText(nextDose, now, zone) {
  if (!nextDose) return "";
  const nowMs = minuteOf(now);
  const clock = wallIn(nowMs, zone);
  if (nextDose.kind === "due" && nextDose.days !== null) {
    const day = Date.UTC(clock.getUTCFullYear(), clock.getUTCMonth(), clock.getUTCDate());
    const due = new Date(day + nextDose.days * DAY_MS);
    return `Next dose due on ${formatDay(due)} (${formatInterval(nextDose.days)}), if this dose is given today.`;
  }
  const notBefore = nextDose.not_before ? Date.parse(nextDose.not_before) : null;
  if (notBefore !== null && notBefore > nowMs) {
    return (
      `A further dose, if needed, no sooner than ${nextDose.hours} hours after this infusion ` +
      `starts: if it starts at its earliest (${hhmm(wallIn(notBefore, zone))}), not before ` +
      `${formatMoment(wallIn(notBefore + nextDose.hours * HOUR_MS, zone))}.`
    );
  }
  return (
    `A further dose, if needed, no sooner than ${nextDose.hours} hours after this infusion ` +
    `starts: if it starts now (${hhmm(clock)}), not before ` +
    `${formatMoment(wallIn(nowMs + nextDose.hours * HOUR_MS, zone))}.`
  );
}

/** As dosing.engine.start_text: whether a repeat dose may start now ("" for a first dose). */
export function startText(repeat, now, zone) {
  if (!repeat || !repeat.not_before || !repeat.previous_dose_start) return "";
  const nowMs = minuteOf(now);
  const previous = Date.parse(repeat.previous_dose_start);
  const notBefore = Date.parse(repeat.not_before);
  if (previous > nowMs) {
    return (
      `The previous dose's start entered (${formatMoment(wallIn(previous, zone))}) is later than now ` +
      `(${hhmm(wallIn(nowMs, zone))}): check the date and time.`
    );
  }
  if (nowMs < notBefore) {
    const words = duration(Math.ceil((notBefore - nowMs) / MINUTE_MS));
    return (
      `Not yet: do not start before ${formatMoment(wallIn(notBefore, zone))} (${words} from now), ` +
      `${repeat.min_hours_apart} hours after the previous dose.`
    );
  }
  return (
    `The ${repeat.min_hours_apart} hours since the previous dose started ` +
    `(${formatMoment(wallIn(previous, zone))}) have passed: this dose may start now.`
  );
}

/** As dosing.engine.format_moment of now: "18:10 on Wednesday 25 November 2026". */
export function clockText(now, zone) {
  return formatMoment(wallIn(minuteOf(now), zone));
}

/** As dosing.engine.use_by_text: elapsed hours from now. */
export function useByText(storage, now, zone) {
  const until = wallIn(minuteOf(now) + storage.max_hours * HOUR_MS, zone);
  return `In ${storage.diluent} at ${storage.temperature}: use by ${formatMoment(until)} if diluted now.`;
}

// For the unit tests of the arithmetic.
export const decimal = { dec, add, sub, mul, cmp, divide, quantize, ceilDiv, plain };
