// Progressive enhancement; every page works without it. Here: the choices an indication has, the
// service worker, the offline and content-update messages, offline calculation, and the bedside
// flow (result in view, errors on fields, "why" in place, the last result kept for Back).

const body = document.body;
const form = document.querySelector("form.calc");
const status = document.getElementById("network-status");
const stamp = document.getElementById("content-stamp");
const SEEN = "actemra-content-version"; // the last content version this phone showed

function say(text) {
  if (!status) return;
  status.textContent = text;
  status.hidden = !text;
}

// The chosen product's label in words (product.mjs): loaded with the first product that lacks
// anything, or a product kept from this tab's last patient; the default, ACTEMRA, lacks nothing,
// so the first load stays light.
let productWords = null;

function withProductWords(then) {
  productWords ??= import("./product.mjs");
  // Not loaded: the routes are still greyed out, without the words.
  productWords.then(then).catch(() => {
    productWords = null;
  });
}

// Grey out the routes an indication does not have, and those the chosen product's label lacks
// (its option's data-lacks, issue 23); at once. A route or an indication the product lacks that
// is already chosen stays chosen, never swapped: SC 162 mg must not become IV 280 mg because the
// product changed; the answer refuses it on the product field and says why. The server decides.
function syncRoutes() {
  const select = form.querySelector("select[name=indication]");
  const routes = Object.fromEntries(
    (select.dataset.routes || "").split(" ").filter(Boolean).map((pair) => pair.split(":")),
  );
  const lacks = form.elements.product?.selectedOptions[0].dataset.lacks?.split(" ") || [];
  const own = (routes[select.value] || "").split(",");
  const offered = own.filter((route) => !lacks.includes(`${select.value}:${route}`));
  const allowed = offered.length ? offered : own;
  const radios = [...form.querySelectorAll("input[name=route]")];
  for (const r of radios) r.disabled = !allowed.includes(r.value) && !(r.checked && own.includes(r.value));
  if (lacks.length || productWords) withProductWords(({ explain }) => explain(form, routes));
  if (radios.some((r) => r.checked && r.disabled)) {
    const first = radios.find((r) => !r.disabled);
    if (first) first.checked = true;
  }
}

// Step and therapy only where content gives the indication and route a choice (data-*-choice);
// hidden, a choice goes back to its first option: never a hidden step carried to another indication.
function syncChoices() {
  syncRoutes();
  const select = form.querySelector("select[name=indication]");
  const route = form.querySelector("input[name=route]:checked")?.value;
  for (const fieldset of form.querySelectorAll("fieldset[data-choice]")) {
    const pairs = select.dataset[`${fieldset.dataset.choice}Choice`];
    if (pairs === undefined) continue;
    const offered = pairs.split(" ").includes(`${select.value}:${route}`);
    fieldset.hidden = !offered;
    const radios = fieldset.querySelectorAll("input[type=radio]");
    if (!offered && radios.length && !radios[0].checked) radios[0].checked = true;
  }
}

// Errors on their fields, from the result's li[data-field]. A new mark only after Calculate
// (`adding`): while typing the form never grows under the thumb.
function markFields(adding = true) {
  const errors = {};
  for (const item of document.querySelectorAll("#result li[data-field]")) {
    const text = item.textContent.slice(item.textContent.indexOf(":") + 1).trim();
    const name = item.dataset.field === "weight_unit" ? "weight" : item.dataset.field;
    errors[name] = errors[name] ? `${errors[name]} ${text}` : text;
  }
  const names = new Set([...form.elements].map((element) => element.name));
  for (const name of names) {
    const field = document.getElementById(`id_${name}`);
    if (!field || name === "weight_unit") continue;
    const message = errors[name];
    let slot = document.getElementById(`id_${name}-error`);
    if (!adding && !slot) continue;
    if (!slot && message) {
      slot = Object.assign(document.createElement("p"), { className: "error", id: `id_${name}-error` });
      field.closest(".field").append(slot);
    }
    if (slot) {
      slot.textContent = message || "";
      slot.hidden = !message;
    }
    if (message) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", slot.id);
    } else {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    }
  }
  const labs = form.querySelector("details.labs");
  if (adding && Object.keys(errors).some((name) => labs.contains(document.getElementById(`id_${name}`)))) {
    labs.open = true;
  }
}

// After Calculate: the answer in view (or, for an error, the first field at fault, focused).
// Screen readers hear the result once, from the live region around it; focus stays put.
let bringIntoView = false;

function revealResult() {
  const invalid = form.querySelector("[aria-invalid=true]");
  if (invalid) {
    (invalid.matches("fieldset") ? invalid.querySelector("input:checked, input") : invalid).focus();
  } else {
    document.querySelector("#result .head, #result-title")?.scrollIntoView({ block: "start" });
  }
}

// The last result in this tab (sessionStorage: never the server, gone with the tab), so Back,
// Forward or a reload never loses a calculation. Only those: a link, the Calculator one included,
// is a new patient (issue 22: patient A's lb and platelets were carried into patient B).
const LAST = "actemra-last-result";
const arrival = performance.getEntriesByType("navigation")[0]?.type;
const returning = arrival === "back_forward" || arrival === "reload";

function fieldValues() {
  return [...new FormData(form)].filter(([name]) => name !== "csrfmiddlewaretoken");
}

function remember() {
  const result = document.getElementById("result");
  if (!result || !result.querySelector(".head")) return;
  const saved = { fields: fieldValues(), html: result.outerHTML, version: result.dataset.contentVersion, at: Date.now() };
  try {
    sessionStorage.setItem(LAST, JSON.stringify(saved));
  } catch {
    // Private mode or full storage: Back then shows the empty form, as without this.
  }
}

let touched = false;

// The saved copy put back (restore.mjs), or said to be back (`cached`: bfcache kept it).
async function bringBack(cached) {
  let saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(LAST));
  } catch {
    return;
  }
  // Not loaded (the server out of reach, nothing saved): the empty form, and why.
  const module = await import("./restore.mjs").catch(() => null);
  if (!module) return say("The last result could not be put back: calculate again.");
  const app = { form, stamp, syncChoices, shown, newPatient, touched: () => touched };
  if (cached) module.sayRestored(app, saved?.at);
  else module.restore(app, saved);
}

// "New patient": the kept copy forgotten and a fresh form (kg, no labs), in place of this page
// in the history.
function newPatient(event) {
  event.preventDefault();
  forget();
  location.replace(form.action);
}

function forget() {
  try {
    sessionStorage.removeItem(LAST);
  } catch {
    // No storage: nothing was kept.
  }
}

// lb or kg is never silent: a unit tapped with a number typed says how the number is now read.
function noteUnit(event) {
  const note = document.getElementById("unit-note");
  const weight = form.querySelector("input[name=weight]").value.trim();
  if (event.target.name === "weight") note.textContent = "";
  if (event.target.name !== "weight_unit" || !weight) return;
  note.textContent = `Now read as ${weight} ${event.target.value}.`;
}

// "Why": the label section opens over the result (why.mjs, loaded on the first tap).
function openWhy(event) {
  const link = event.target.closest("#result a[href*='#']");
  if (!link || event.button || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || url.pathname === location.pathname) return;
  event.preventDefault();
  // Not loaded or not opened: the link as a plain link, the label section as a page.
  import(body.dataset.whyModule)
    .then(({ openLabel }) => openLabel(link, url))
    .catch(() => location.assign(link.href));
}

// The preparation block's buttons and clock words (prep-actions.mjs, which then follows every
// new result itself), loaded with the first result that has a preparation block.
function loadPreparation() {
  if (!document.querySelector("#result [data-prep-actions]")) return;
  // Without it the steps and the note still show; the buttons stay hidden, and this says why.
  import(body.dataset.prepModule).catch(() =>
    say("Print and copy could not load (the server is out of reach): reload to try again."),
  );
}

// After Calculate, screen readers hear the headline alone (the icon is aria-hidden), once.
function announce() {
  const title = document.getElementById("result-title");
  const region = document.getElementById("announce");
  if (!title || !region) return;
  const words = [...title.childNodes].filter((node) => !node.classList?.contains("icon"));
  const text = words.map((node) => node.textContent).join("").replace(/\s+/g, " ").trim();
  region.textContent = "";
  // Emptied first, so the same headline twice is still heard twice.
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}

// Everything a new #result needs, however it arrived (htmx, offline, restored).
function shown() {
  loadPreparation();
  markFields(bringIntoView);
  remember();
  if (bringIntoView) {
    revealResult();
    announce();
  }
  bringIntoView = false;
}

// No weight and no Calculate: no request, no red "Enter the weight."; earlier figures go.
function waitForWeight(event) {
  if (event.detail.triggeringEvent?.type === "submit" || form.elements.weight.value.trim()) return;
  event.preventDefault();
  const result = document.getElementById("result");
  if (!result.querySelector(".head, .errors")) return;
  result.innerHTML =
    '<h2 id="result-title" class="visually-hidden" tabindex="-1">Result</h2><p class="hint">Choose the indication and route, then enter the weight.</p>';
  result.classList.remove("stale");
  forget();
  markFields(false);
}

// Content: say once when this phone first sees a new published version, with its summary.
function noteContentVersion(version, date, summary, hint) {
  const seen = localStorage.getItem(SEEN);
  const what = summary ? `: ${summary.replace(/\.$/, "")} (${date})` : ` of ${date}`;
  if (seen && seen !== String(version)) say(`Content updated to version ${version}${what}${hint}.`);
  localStorage.setItem(SEEN, String(version));
}

// The saved rules snapshot, one per page view: a result is computed from exactly one version.
let rules = null;

async function loadRules() {
  if (!rules) {
    const response = await fetch(body.dataset.rulesUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`rules: HTTP ${response.status}`);
    const data = await response.json();
    // Rules in a format this page's engine was not built for: the server calculates, not this phone.
    if (String(data.format) !== body.dataset.rulesFormat) throw new Error("format");
    rules = data;
  }
  return rules;
}

let offlineModule = null;

// `why` says in a few words why the server's answer is missing: offline, or its HTTP status.
async function calculateHere(why = "Offline") {
  offlineModule ??= import(body.dataset.offlineModule);
  try {
    const [{ render }, snapshot] = await Promise.all([offlineModule, loadRules()]);
    const monograph = document.querySelector("nav a[href$='/monograph/']").getAttribute("href");
    document.getElementById("result").replaceWith(render(form, snapshot, monograph));
    shown();
    say(
      `${why}: calculated on this phone with content version ${snapshot.content_version} ` +
        `of ${snapshot.content_date}.`,
    );
  } catch (error) {
    offlineModule = null;
    // Never leave an earlier patient's figures standing as if they were this one's.
    const message =
      error.message === "format"
        ? `${why}: this app cannot read the saved content's format, so it calculates online only.`
        : `${why}, and this phone has no saved dosing content yet: open the app once with a connection.`;
    const hint = Object.assign(document.createElement("p"), { className: "hint", textContent: message });
    const result = document.getElementById("result");
    result.replaceChildren(hint);
    result.classList.remove("stale");
    say(message);
  }
}

function showNetwork() {
  if (navigator.onLine) {
    if (status && status.dataset.offline) say("");
    if (status) delete status.dataset.offline;
    rules = null; // ask again: content may have moved while we were away
    return;
  }
  const version = stamp ? `content version ${stamp.dataset.contentVersion} of ${stamp.dataset.contentDate}` : "";
  say(`Offline: the calculator works on this phone with ${version}.`);
  if (status) status.dataset.offline = "1";
}

if (form) {
  // A product kept from this tab's last patient (product.mjs): chosen again on a new form.
  try {
    if (sessionStorage.getItem("actemra-product")) withProductWords(({ choose }) => choose(form, syncChoices));
  } catch {
    // No storage: nothing kept.
  }
  syncChoices();
  loadPreparation();
  markFields();
  if (returning) bringBack(false);
  else forget();
  // Back from the browser's page cache: the page as it was left, said the same way.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && document.querySelector("#result .head")) bringBack(true);
  });
  form.addEventListener("change", (event) => {
    if (/^(product|indication|route)$/.test(event.target.name)) syncChoices();
    noteUnit(event);
  });
  form.addEventListener("input", noteUnit);
  // A confirmation belongs to its inputs: any edit takes it back.
  const unconfirm = () => {
    touched = true;
    form.querySelector("input[name=confirmed]").value = "";
  };
  form.addEventListener("input", unconfirm);
  form.addEventListener("change", unconfirm);
  // "Confirmed" under a Check before giving: the same inputs again, confirmed.
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#result [data-confirm]")) return;
    event.preventDefault();
    form.querySelector("input[name=confirmed]").value = "on";
    form.requestSubmit();
  });
  form.addEventListener("submit", () => {
    bringIntoView = true;
  });
  form.querySelector("a.new")?.addEventListener("click", newPatient);
  document.addEventListener("click", openWhy);
  form.addEventListener("htmx:confirm", waitForWeight);
  // No network: the request is not even tried; a lost or failed one falls back the same way.
  form.addEventListener("htmx:beforeRequest", (event) => {
    if (!navigator.onLine) {
      event.preventDefault();
      calculateHere();
    }
  });
  // Online but the request failed (a lost or slow network): said as that, never as "Offline".
  body.addEventListener("htmx:sendError", () => calculateHere(navigator.onLine ? "Could not reach the server" : undefined));
  // Any failed answer (a proxy's 502, an expired CSRF token's 403, the rate limit's 429): the
  // same engine, checked against the same vectors, answers here instead.
  body.addEventListener("htmx:responseError", (event) => {
    calculateHere(`The server could not answer (HTTP ${event.detail.xhr.status})`);
  });
  // Until the new answer arrives, the figures on screen belong to the previous inputs.
  const markStale = () => document.getElementById("result")?.classList.add("stale");
  form.addEventListener("input", markStale);
  form.addEventListener("change", markStale);
  body.addEventListener("htmx:afterSwap", () => {
    shown();
    const result = document.getElementById("result");
    if (stamp && result && result.dataset.contentVersion !== stamp.dataset.contentVersion) {
      const { contentVersion, contentDate, contentSummary } = result.dataset;
      noteContentVersion(contentVersion, contentDate, contentSummary, "; this result uses it");
      stamp.dataset.contentVersion = result.dataset.contentVersion;
      rules = null;
    }
  });
}

window.addEventListener("online", showNetwork);
window.addEventListener("offline", showNetwork);
if (!navigator.onLine) showNetwork();
else if (stamp) {
  const { contentVersion, contentDate, contentSummary } = stamp.dataset;
  noteContentVersion(contentVersion, contentDate, contentSummary, "");
}

if ("serviceWorker" in navigator && body.dataset.swUrl) {
  // After the page has loaded, so installing never competes with the first paint.
  window.addEventListener("load", () => {
    navigator.serviceWorker.register(body.dataset.swUrl, { scope: "/" }).catch(() => {});
    // Keep the saved rules at the server's version (the worker revalidates: a 304 costs bytes
    // only when content moved), so going offline right after an edit still uses it.
    if (navigator.onLine && navigator.serviceWorker.controller) {
      fetch(body.dataset.rulesUrl, { headers: { Accept: "application/json" } }).catch(() => {});
    }
  });
}
