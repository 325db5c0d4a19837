// Preparation steps, next dose and use-by words in the browser engine (issue 15): the clock
// vectors made by scripts/make_vectors.py, and the reference's figures worked by hand.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { calculate, nextDoseText, startText, useByText } from "../../static/dosing/engine.mjs";

const read = (name) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));
const { rules } = read("engine.json");
const clock = read("preparation.json").cases;
const IV_ORDER = ["vials", "saline", "draw", "add", "final", "infuse", "line", "storage", "light"];

// Each clock case is a moment with its offset, written in its zone (issue 22.5: elapsed hours).
for (const c of clock) {
  test(`clock ${c.now} ${c.zone} ${JSON.stringify(c.next_dose ?? c.storage ?? c.start)}`, () => {
    const now = new Date(c.now);
    const text = c.storage
      ? useByText(c.storage, now, c.zone)
      : c.start
        ? startText(c.start, now, c.zone)
        : nextDoseText(c.next_dose, now, c.zone);
    assert.equal(text, c.text);
  });
}

const step = (result, code) => result.preparation_steps.find((s) => s.code === code);

test("RA 70 kg intravenous, worked by hand: 280 mg, 14 mL, remove 14 mL from a 100 mL bag", () => {
  const result = calculate({ indication: "ra", route: "iv", weight: "70", weight_unit: "kg" }, rules);
  assert.deepEqual(
    result.preparation_steps.map((s) => s.code),
    IV_ORDER,
  );
  assert.equal(result.dose_mg, 280);
  assert.equal(result.draw_ml, 14);
  assert.equal(result.saline_remove_ml, 14);
  assert.match(step(result, "saline").text, /100 mL bag .* withdraw and discard 14 mL of saline/);
  assert.equal(step(result, "final").text, "Final volume 100 mL (280 mg in 100 mL).");
  assert.equal(step(result, "infuse").text, "Infuse over 60 minutes at 100 mL/hour.");
});

test("PJIA 24.5 kg: 245 mg, 12.25 mL drawn as 12 mL in a 20 mL syringe = 240 mg, one volume (issue 22.4)", () => {
  const result = calculate(
    // With an age: a child's indication without one is a check, with nothing to prepare yet.
    { indication: "pjia", route: "iv", weight: "24.5", weight_unit: "kg", age_years: "8" },
    rules,
  );
  assert.equal(result.dose_mg, 245);
  assert.equal(result.volume_ml, 12.25);
  assert.deepEqual([result.draw_ml, result.draw_mg, result.syringe_ml], [12, 240, 20]);
  assert.equal(result.display.volume, "12 mL in a 20 mL syringe = 240 mg");
  assert.equal(result.display.volume_exact, "12.25 mL");
  assert.match(step(result, "draw").text, /^Draw up 12 mL in a 20 mL syringe = 240 mg of /);
  assert.match(step(result, "draw").exact, /12\.25 mL \(245 mg ÷ 20 mg\/mL\), measured to the nearest 1 mL on a 20 mL syringe/);
  // 200 + 80 mg vials hold 280 mg: 40 mg stay after the 240 mg drawn.
  assert.match(step(result, "vials").text, /40 mg will be left unused/);
  assert.equal(step(result, "final").text, "Final volume 50 mL (240 mg in 50 mL).");
  assert.match(result.chart_note, /12 mL in a 20 mL syringe = 240 mg drawn up/);
});

test("subcutaneous: warm about 30 minutes, inject the full 0.9 mL", () => {
  const result = calculate({ indication: "ra", route: "sc", weight: "70", weight_unit: "kg" }, rules);
  assert.deepEqual(
    result.preparation_steps.map((s) => s.code),
    ["take", "inject"],
  );
  assert.match(step(result, "take").text, /about 30 minutes/);
  assert.equal(step(result, "inject").text, "Inject the full 0.9 mL (162 mg) subcutaneously.");
  assert.match(result.chart_note, /162 mg by subcutaneous injection, every 2 weeks/);
});

test("next dose from the phone's clock: 28 days, or 8 hours for CRS; none on a hold", () => {
  const now = new Date(2026, 10, 25, 18, 10);
  const ra = calculate({ indication: "ra", route: "iv", weight: "70", weight_unit: "kg" }, rules);
  assert.match(nextDoseText(ra.next_dose, now), /^Next dose due on Wednesday 23 December 2026 \(every 4 weeks\)/);
  const crs = calculate({ indication: "crs", route: "iv", weight: "70", weight_unit: "kg", age_years: "40" }, rules);
  assert.match(nextDoseText(crs.next_dose, now), /not before 02:10 on Thursday 26 November 2026/);
  const hold = calculate(
    {
      indication: "ra",
      route: "iv",
      weight: "70",
      weight_unit: "kg",
      starting_therapy: false,
      labs: { anc_per_mm3: "800" },
    },
    rules,
  );
  assert.equal(hold.action, "hold");
  assert.equal(hold.next_dose, null);
  assert.equal(nextDoseText(hold.next_dose, now), "");
  assert.deepEqual(hold.preparation_steps, []);
});
