// The JavaScript lint (issue 23 item 5): ESLint's recommended rules on the app's modules, the
// service worker and the node tests. `make lint` runs it beside ruff.
import js from "@eslint/js";
import globals from "globals";

export default [
  // templates/dosing/sw.js is a Django template (its config is rendered in): the browser tests
  // run the service worker it renders.
  { ignores: ["node_modules/", "staticfiles/", ".venv/", "templates/"] },
  js.configs.recommended,
  {
    files: ["static/dosing/**/*.mjs"],
    languageOptions: { globals: { ...globals.browser, htmx: "readonly" } },
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.mjs"],
    languageOptions: { globals: globals.node },
  },
];
