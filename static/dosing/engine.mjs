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

// ---------------------------------------------------------------------------------------------
// Exact decimals: { n: BigInt, s: scale }, value = n / 10^s, s >= 0.

const TEN = 10n;
const pow10 = (k) => TEN ** BigInt(k);

export const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

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
const LAB_UNITS = {
  alt_x_uln: "× ULN",
  ast_x_uln: "× ULN",
  anc_per_mm3: "cells/mm³",
  platelets_per_mm3: "cells/mm³",
};
const ROUTES = ["iv", "sc"];
const STEPS = ["starting", "increased"];
const UNITS = ["kg", "lb"];
const ROUTE_WORDS = { iv: "intravenous infusion", sc: "subcutaneous injection" };
const ROUTE_ADJECTIVES = { iv: "intravenous", sc: "subcutaneous" };
// Most severe last: several findings, the highest rank wins.
const ACTION_RANK = { give: 0, reduce: 1, hold: 2, not_recommended: 3, discontinue: 4 };
const SEVERITY_RANK = { danger: 0, warning: 1, info: 2 };
const ACTION_SEVERITY = {
  give: "info",
  reduce: "warning",
  hold: "warning",
  not_recommended: "danger",
  discontinue: "danger",
};
const HEADLINES = {
  give: "Give",
  reduce: "Give a reduced dose",
  hold: "Hold: do not give now",
  not_recommended: "Not recommended: do not give",
  discontinue: "Discontinue",
};

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

// ---------------------------------------------------------------------------------------------
// The rules snapshot: decimal strings become exact decimals once per snapshot.

const loaded = new WeakMap();

function load(data) {
  if (loaded.has(data)) return loaded.get(data);
  const rules = {
    content_version: data.content_version,
    content_date: data.content_date,
    max_weight_kg: D(data.max_weight_kg),
    indications: data.indications.map((i) => ({ ...i, min_age_years: D(i.min_age_years) })),
    dose_rules: data.dose_rules.map((d) => ({
      ...d,
      min_weight_kg: D(d.min_weight_kg),
      max_weight_kg: D(d.max_weight_kg),
      mg_per_kg: D(d.mg_per_kg),
      flat_mg: D(d.flat_mg),
      max_mg: D(d.max_mg),
    })),
    presentations: data.presentations.map((p) => ({
      ...p,
      strength_mg: D(p.strength_mg),
      volume_ml: D(p.volume_ml),
    })),
    preparation: {
      ...data.preparation,
      concentration_mg_per_ml: D(data.preparation.concentration_mg_per_ml),
      bags: data.preparation.bags.map((b) => ({
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
  };
  loaded.set(data, rules);
  return rules;
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
  return quantize(unit === "lb" ? mul(weight, KG_PER_LB) : weight, WEIGHT_PLACES);
}

/** The vial combination covering the dose with the least unused drug, then the fewest vials. */
export function chooseVials(doseMg, vials) {
  const strengths = [...vials].sort((a, b) => cmp(b.strength_mg, a.strength_mg));
  if (!strengths.length) return [];
  let best = null;
  const search = (index, remaining, counts) => {
    const vial = strengths[index];
    const most = Math.max(0, ceilDiv(remaining, vial.strength_mg));
    if (index === strengths.length - 1) {
      const full = [...counts, most];
      const total = full.reduce((sum, n, i) => add(sum, mul(int(n), strengths[i].strength_mg)), int(0));
      const waste = sub(total, doseMg);
      const count = full.reduce((sum, n) => sum + n, 0);
      if (best === null || lt(waste, best.waste) || (eq(waste, best.waste) && count < best.count)) {
        best = { waste, count, full };
      }
      return;
    }
    for (let n = 0; n <= most; n += 1) {
      search(index + 1, sub(remaining, mul(int(n), vial.strength_mg)), [...counts, n]);
    }
  };
  search(0, doseMg, []);
  return strengths
    .map((vial, i) => ({ strength_mg: vial.strength_mg, volume_ml: vial.volume_ml, count: best.full[i] }))
    .filter((vial) => vial.count);
}

function parseDecimal(field, value) {
  const text =
    value === null || value === undefined || typeof value === "boolean" ? "" : String(value).trim();
  if (!NUMBER.test(text)) throw new InputError(field, "Enter a number.");
  return dec(text);
}

function givenLabs(labs) {
  return Object.keys(LAB_OF_INPUT)
    .filter((name) => labs[name] !== null && labs[name] !== undefined)
    .map((name) => [name, labs[name]]);
}

function checkInputs(inputs, rules) {
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
  if (!STEPS.includes(inputs.step)) throw new InputError("step", "Choose starting or increased.");
  const step = inputs.step;
  if (!rules.dose_rules.some((d) => d.indication === indication.slug && d.route === route && d.step === step)) {
    throw new InputError(
      "step",
      `The label has no increased ${ROUTE_ADJECTIVES[route]} dose for ${indication.name}; use starting.`,
    );
  }
  if (!UNITS.includes(inputs.weight_unit)) throw new InputError("weight_unit", "Choose kg or lb.");
  const weight = parseDecimal("weight", inputs.weight);
  const limitLb = divide(rules.max_weight_kg, KG_PER_LB, WEIGHT_PLACES);
  const allowed =
    `Enter a weight above 0 and up to ${formatNumber(rules.max_weight_kg)} kg ` + `(${formatNumber(limitLb)} lb).`;
  if (le(weight, int(0))) throw new InputError("weight", allowed);
  const weightKg = toKg(weight, inputs.weight_unit);
  if (le(weightKg, int(0)) || gt(weightKg, rules.max_weight_kg)) throw new InputError("weight", allowed);
  if (inputs.age_years !== null && inputs.age_years !== undefined) {
    const age = parseDecimal("age_years", inputs.age_years);
    if (lt(age, int(0)) || gt(age, AGE_INPUT_MAX_YEARS)) {
      throw new InputError("age_years", `Enter an age from 0 to ${plain(AGE_INPUT_MAX_YEARS)} years.`);
    }
  }
  for (const [name, value] of givenLabs(inputs.labs)) {
    const number = parseDecimal(name, value);
    if (lt(number, int(0)) || gt(number, LAB_INPUT_MAX[name])) {
      throw new InputError(name, `Enter a value from 0 to ${formatNumber(LAB_INPUT_MAX[name])} ${LAB_UNITS[name]}.`);
    }
  }
  return { indication, route, step, weightKg };
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
    labs: pick("labs", null) || {},
  };
}

/**
 * Dose, preparation and warnings for one patient, from the rules snapshot (as the API sends it).
 * Returns the API's result shape; throws InputError for input outside the domain.
 */
export function calculate(rawInputs, rulesData) {
  const rules = load(rulesData);
  const inputs = withDefaults(rawInputs);
  const { indication, route, step, weightKg } = checkInputs(inputs, rules);
  const weight = parseDecimal("weight", inputs.weight);
  const age = inputs.age_years === null ? null : parseDecimal("age_years", inputs.age_years);
  const labs = givenLabs(inputs.labs).map(([name, value]) => [name, parseDecimal(name, value)]);

  const rule = rules.dose_rules.find(
    (d) =>
      d.indication === indication.slug &&
      d.route === route &&
      d.step === step &&
      inBand(weightKg, d.min_weight_kg, d.max_weight_kg),
  );
  if (!rule) throw new InputError("weight", `No dose rule covers ${formatNumber(weightKg)} kg.`);

  const warnings = [];
  // The dose rule's section first: it is the "why" behind the headline figure.
  const sources = [rule.source, indication.source];
  let action = "give";
  let nextStep = rule.next_step;

  if (indication.source.needs_review) warnings.push(verifyNotice(indication.name, indication.source));
  if (rule.source.needs_review) warnings.push(verifyNotice(`this ${ROUTE_ADJECTIVES[route]} dose`, rule.source));

  // Age: below the label's minimum the drug is not recommended (never silently dosed).
  if (age !== null && indication.min_age_years !== null && lt(age, indication.min_age_years)) {
    action = "not_recommended";
    const minimum = formatNumber(indication.min_age_years);
    const who = indication.adult_only ? `adults (${minimum} years and older)` : `patients ${minimum} years and older`;
    warnings.push({
      code: "age_below_minimum",
      severity: "danger",
      message: `${indication.name} is approved for ${who}; this patient is ${formatNumber(age)} years old.`,
      label_section: indication.source.label_section,
      anchor: indication.source.anchor,
    });
  }

  warnings.push(...weightPlausibility(weightKg, age, indication, rules));

  // Labs: every finding is explained; the most severe action wins.
  const context = inputs.starting_therapy ? "starting" : "on_therapy";
  let reduceMgPerKg = null;
  let reduceInterval = null;
  for (const [name, value] of labs) {
    for (const labRule of rules.lab_rules) {
      if (
        labRule.lab === LAB_OF_INPUT[name] &&
        (labRule.context === context || labRule.context === "any") &&
        (labRule.route === null || labRule.route === route) &&
        labRule.indications.includes(indication.slug) &&
        labMatches(labRule, value)
      ) {
        sources.push(labRule.source);
        warnings.push({
          code: labRule.code,
          severity: ACTION_SEVERITY[labRule.action],
          message: `${LAB_NAMES[name]} ${formatNumber(value)} ${LAB_UNITS[name]}: ${labRule.message}`,
          label_section: labRule.source.label_section,
          anchor: labRule.source.anchor,
        });
        if (labRule.source.needs_review) warnings.push(verifyNotice(`the ${LAB_NAMES[name]} rule`, labRule.source));
        if (ACTION_RANK[labRule.action] > ACTION_RANK[action]) action = labRule.action;
        if (labRule.action === "reduce") {
          const target = labRule.reduce_to_mg_per_kg;
          if (target !== null) {
            const candidates = [reduceMgPerKg, target].filter((x) => x !== null && !isZero(x));
            reduceMgPerKg = candidates.reduce(minD);
          }
          if (labRule.reduce_to_interval_days !== null) {
            reduceInterval = Math.max(reduceInterval || 0, labRule.reduce_to_interval_days);
          }
        }
      }
    }
  }

  for (const advisory of rules.advisories) {
    if (
      advisory.indications.includes(indication.slug) &&
      (advisory.route === null || advisory.route === route) &&
      [context, "any", undefined].includes(advisory.context)
    ) {
      sources.push(advisory.source);
      let message = advisory.message;
      if (advisory.source.needs_review) {
        message += ` Verify against the current label (${advisory.source.evidence} evidence).`;
      }
      warnings.push({
        code: advisory.code,
        severity: advisory.severity,
        message,
        label_section: advisory.source.label_section,
        anchor: advisory.source.anchor,
      });
    }
  }

  const gives = action === "give" || action === "reduce";
  let mgPerKg = rule.mg_per_kg;
  let intervalDays = rule.interval_days;
  if (action === "reduce") {
    if (mgPerKg !== null && reduceMgPerKg !== null && lt(reduceMgPerKg, mgPerKg)) mgPerKg = reduceMgPerKg;
    if (intervalDays !== null && reduceInterval !== null && reduceInterval > intervalDays) {
      intervalDays = reduceInterval;
    }
    nextStep = "Return to the usual dose as the lab values allow (see the warnings).";
  } else if (!gives) {
    nextStep = "See the warnings: the most severe finding decides.";
  }

  let calculatedMg = null;
  let doseMg = null;
  let capped = false;
  if (gives) {
    calculatedMg = mgPerKg !== null ? quantize(mul(weightKg, mgPerKg), DOSE_PLACES) : rule.flat_mg;
    capped = rule.max_mg !== null && gt(calculatedMg, rule.max_mg);
    doseMg = capped ? rule.max_mg : calculatedMg;
  }

  const preparation = rules.preparation;
  let vials = [];
  let devices = [];
  let volumeMl = null;
  let vialTotalMg = null;
  let wasteMg = null;
  let bagMl = null;
  let rate = null;
  let infusionMinutes = null;
  let diluents = "";
  if (gives && doseMg !== null) {
    const onRoute = rules.presentations.filter((p) => p.route === route);
    if (route === "iv") {
      sources.push(preparation.source);
      volumeMl = divide(doseMg, preparation.concentration_mg_per_ml, VOLUME_PLACES);
      vials = chooseVials(doseMg, onRoute);
      vialTotalMg = vials.reduce((sum, v) => add(sum, mul(v.strength_mg, int(v.count))), int(0));
      wasteMg = sub(vialTotalMg, doseMg);
      bagMl = preparation.bags.find((b) => inBand(weightKg, b.min_weight_kg, b.max_weight_kg)).bag_ml;
      diluents = preparation.diluents;
      infusionMinutes = preparation.infusion_minutes;
      rate = divide(mul(bagMl, int(60)), int(infusionMinutes), RATE_PLACES);
    } else {
      devices = onRoute.map((p) => ({
        device: p.device,
        label: p.device_label,
        strength_mg: p.strength_mg,
        volume_ml: p.volume_ml,
      }));
      if (devices.length) {
        const first = devices[0];
        volumeMl = divide(mul(doseMg, first.volume_ml), first.strength_mg, VOLUME_PLACES);
      }
    }
  }

  let repeat = null;
  if (rule.additional_doses_max !== null && rule.min_hours_apart !== null) {
    repeat = {
      additional_doses_max: rule.additional_doses_max,
      min_hours_apart: rule.min_hours_apart,
      condition: rule.repeat_condition,
    };
  }

  // Severity first; within one severity, findings about this patient before standing advisories.
  const advisoryCodes = new Set(rules.advisories.map((a) => a.code));
  const rank = (w) => SEVERITY_RANK[w.severity] * 2 + (advisoryCodes.has(w.code) ? 1 : 0);
  warnings.sort((a, b) => rank(a) - rank(b)); // stable, as Python's sort

  const result = {
    action,
    indication: indication.slug,
    indication_name: indication.name,
    route,
    step,
    weight_kg: weightKg,
    weight_input: weight,
    weight_unit: inputs.weight_unit,
    dose_mg: doseMg,
    mg_per_kg: gives ? mgPerKg : null,
    calculated_mg: calculatedMg,
    capped,
    max_mg: rule.max_mg,
    interval_days: intervalDays,
    repeat,
    next_step: nextStep,
    concomitant: rule.concomitant,
    volume_ml: volumeMl,
    vials,
    vial_total_mg: vialTotalMg,
    waste_mg: wasteMg,
    bag_ml: bagMl,
    diluents,
    infusion_minutes: infusionMinutes,
    rate_ml_per_hour: rate,
    devices,
    warnings,
    references: references(sources),
    content_version: rules.content_version,
  };
  return toData(result, describe(result));
}

function weightPlausibility(weightKg, age, indication, rules) {
  if (!rules.plausible_weights.length) return [];
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
  if (!rows.length) return [];
  const low = rows.map((p) => p.min_weight_kg).reduce(minD);
  const high = rows.map((p) => p.max_weight_kg).reduce(maxD);
  if (le(low, weightKg) && le(weightKg, high)) return [];
  return [
    {
      code: "weight_implausible",
      severity: "warning",
      message:
        `Check the weight: ${formatNumber(weightKg)} kg is unusual for ${who} ` +
        `(expected ${formatNumber(low)} to ${formatNumber(high)} kg). ` +
        "The dose below uses the weight as entered.",
      label_section: "",
      anchor: "",
    },
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
    vials: "",
    waste: "",
    bag: "",
    rate: "",
    interval: "",
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
  if (result.volume_ml !== null) text.volume = `${fmt(result.volume_ml)} mL`;
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
    const more = result.repeat.additional_doses_max;
    text.interval =
      `single dose; ${result.repeat.condition}, up to ${more} additional ` +
      `${more === 1 ? "dose" : "doses"} at least ${result.repeat.min_hours_apart} hours apart`;
  }
  return text;
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
  };
}

// For the unit tests of the arithmetic.
export const decimal = { dec, add, sub, mul, cmp, divide, quantize, ceilDiv, plain };
