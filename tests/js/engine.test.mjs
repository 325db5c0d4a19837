// The browser engine against the shared vectors (generated from the Python engine) and its own
// decimal arithmetic. Run: node --test tests/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { InputError, calculate, chooseVials, decimal, formatNumber } from "../../static/dosing/engine.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/engine.json", import.meta.url), "utf8"));

test("the vectors are the agreed set", () => {
  assert.ok(vectors.cases.length >= 150, `${vectors.cases.length} cases`);
  const slugs = new Set(vectors.cases.map((c) => c.inputs.indication));
  for (const indication of vectors.rules.indications) assert.ok(slugs.has(indication.slug), indication.slug);
});

for (const vector of vectors.cases) {
  test(vector.name, () => {
    if (vector.error) {
      assert.throws(
        () => calculate(vector.inputs, vectors.rules),
        (error) => {
          assert.ok(error instanceof InputError);
          assert.deepEqual({ field: error.field, message: error.message }, vector.error);
          return true;
        },
      );
    } else {
      assert.deepEqual(calculate(vector.inputs, vectors.rules), vector.result);
    }
  });
}

test("decimals are exact and round half up", () => {
  const { dec, add, mul, divide, quantize, plain } = decimal;
  assert.equal(plain(add(dec("0.1"), dec("0.2"))), "0.3");
  assert.equal(plain(quantize(mul(dec("134.75"), dec("0.45359237")), 2)), "61.12");
  assert.equal(plain(quantize(dec("2.345"), 2)), "2.35");
  assert.equal(plain(quantize(dec("-2.345"), 2)), "-2.35");
  assert.equal(plain(quantize(dec("2.344999"), 2)), "2.34");
  assert.equal(plain(divide(dec("297.5"), dec("20"), 2)), "14.88");
  assert.equal(plain(divide(dec("500"), dec("0.45359237"), 2)), "1102.31");
  assert.equal(plain(dec("7e1")), "70");
  assert.equal(plain(dec("1.5E-2")), "0.015");
  assert.equal(plain(dec(".5")), "0.5");
});

test("numbers are written ISMP style", () => {
  assert.equal(formatNumber(decimal.dec("0.90")), "0.9");
  assert.equal(formatNumber(decimal.dec("560.0")), "560");
  assert.equal(formatNumber(decimal.dec("1200.5")), "1,200.5");
  assert.equal(formatNumber(decimal.dec("1234567")), "1,234,567");
  assert.equal(formatNumber(12), "12");
});

test("vials: least waste, then fewest vials, any strengths", () => {
  const { dec } = decimal;
  const vial = (mg, ml) => ({ strength_mg: dec(mg), volume_ml: dec(ml) });
  const vials = [vial("80", "4"), vial("200", "10"), vial("400", "20")];
  const pick = (dose) =>
    chooseVials(dec(dose), vials).map((v) => `${v.count}x${decimal.plain(v.strength_mg)}`).join(" ");
  assert.equal(pick("560"), "1x400 2x80");
  assert.equal(pick("800"), "2x400");
  assert.equal(pick("96"), "2x80");
  assert.equal(pick("162"), "1x200");
  assert.equal(pick("600"), "1x400 1x200");
  assert.deepEqual(chooseVials(dec("100"), []), []);
});

// Issue 22.3: typed text read as dosing.engine.typed_number reads it (tests/vectors/typed.json).
const typed = JSON.parse(readFileSync(new URL("../vectors/typed.json", import.meta.url), "utf8"));
test("typed text: decimal commas, thousands and the doubtful 1.500, as the Python engine", async () => {
  const { typedNumber } = await import("../../static/dosing/engine.mjs");
  for (const c of typed.cases) {
    if (c.error) {
      assert.throws(() => typedNumber("f", c.text, c.counts), { message: c.error }, c.text);
    } else {
      assert.equal(typedNumber("f", c.text, c.counts), c.number, c.text);
    }
  }
});

// Issue 22.4: the site rounding policy turned on (it ships off), every other figure as engine.json's.
const rounding = JSON.parse(readFileSync(new URL("../vectors/rounding.json", import.meta.url), "utf8"));
const roundingRules = { ...vectors.rules, rounding: rounding.rounding };
for (const vector of rounding.cases) {
  test(vector.name, () => {
    assert.deepEqual(calculate(vector.inputs, roundingRules), vector.result);
  });
}

test("the uncapped-dose note says the figure is the site's when it is not the label's largest cap", () => {
  // As tests/test_engine.py::test_the_uncapped_dose_note_says_what_its_figure_is (PJIA 8 mg/kg x 90 kg).
  const site = { ...vectors.rules, uncapped_note_above_mg: "700" };
  const result = calculate({ indication: "pjia", route: "iv", weight: "90", age_years: "17" }, site);
  const note = result.checks.find((c) => c.code === "no_label_maximum");
  assert.match(note.message, /720 mg is above 700 mg, the threshold this site set for doses the label does not cap\./);
  const seeded = calculate({ indication: "pjia", route: "iv", weight: "101", age_years: "17" }, vectors.rules);
  assert.match(
    seeded.checks.find((c) => c.code === "no_label_maximum").message,
    /808 mg is above 800 mg, the largest maximum dose the label states for any indication\./,
  );
});
