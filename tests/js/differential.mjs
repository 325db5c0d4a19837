// One calculation a line, for tests/test_engine_differential.py: reads {"inputs": ...} lines on
// stdin and answers each with {"result": ...}, {"error": {"field", "message"}} or {"crash": ...},
// on the rules of the JSON file named (the shared vectors' "rules").
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

import { InputError, calculate } from "../../static/dosing/engine.mjs";

const rules = JSON.parse(readFileSync(process.argv[2], "utf8")).rules;
for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    answer = { result: calculate(JSON.parse(line).inputs, rules) };
  } catch (error) {
    answer =
      error instanceof InputError
        ? { error: { field: error.field, message: error.message } }
        : { crash: String(error && error.stack) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
