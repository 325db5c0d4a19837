// Issue 12 (clinical safety), class by class, in the browser engine: the hand-worked cases of
// tests/vectors/safety.json (tests/test_safety.py runs the same cases in the Python engine),
// against the rules snapshot of the shared vectors. Run: node --test tests/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { FORM_NUMBER, InputError, NUMBER, calculate, chooseVials, decimal } from "../../static/dosing/engine.mjs";

const read = (name) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));
const { rules } = read("engine.json");
const { cases } = read("safety.json");

function outcomeOf(inputs) {
  try {
    return { result: calculate(inputs, rules) };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { error: { field: error.field, message: error.message } };
  }
}

// The same assertions as check_case in tests/test_safety.py.
function checkCase(vector, outcome) {
  if (vector.error) {
    assert.deepEqual(outcome.error, vector.error);
    return;
  }
  const { result } = outcome;
  assert.ok(result, JSON.stringify(outcome.error));
  for (const [key, value] of Object.entries(vector.expect || {})) assert.deepEqual(result[key], value, key);
  for (const [key, value] of Object.entries(vector.display || {})) assert.equal(result.display[key], value, key);
  const codes = result.warnings.map((w) => w.code);
  for (const code of vector.absent || []) assert.ok(!codes.includes(code), code);
  const wanted = vector.warning;
  if (wanted) {
    const matches = result.warnings.filter((w) => w.code === wanted.code);
    assert.ok(matches.length, `no ${wanted.code} in ${codes}`);
    if (wanted.message) assert.ok(matches.some((w) => w.message === wanted.message), matches[0].message);
    for (const part of wanted.contains || []) assert.ok(matches.some((w) => w.message.includes(part)), part);
    if (wanted.severity) assert.deepEqual([...new Set(matches.map((w) => w.severity))], [wanted.severity]);
  }
}

for (const vector of cases) {
  test(`${vector.class}: ${vector.name}`, () => checkCase(vector, outcomeOf(vector.inputs)));
}

test("absurd text never builds a huge number: an error naming the field", () => {
  for (const weight of ["1e999999999", "1e-999999999", "-1e400", "1".repeat(31)]) {
    assert.throws(
      () => calculate({ indication: "ra", route: "iv", weight }, rules),
      (error) => error instanceof InputError && error.field === "weight",
    );
  }
});

test("typed text takes no exponent", () => {
  assert.ok(NUMBER.test("7e1"));
  assert.ok(!FORM_NUMBER.test("7e1"));
  assert.ok(FORM_NUMBER.test("70.5"));
});

test("a content typo dose is answered from the largest vials", () => {
  const { dec, plain } = decimal;
  const vial = (mg) => ({ strength_mg: dec(mg), volume_ml: dec("1") });
  const picked = chooseVials(dec("400000"), [vial("80"), vial("200"), vial("400")]);
  assert.deepEqual(
    picked.map((v) => [plain(v.strength_mg), v.count]),
    [["400", 1000]],
  );
});
