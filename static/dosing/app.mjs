// Progressive enhancement; every page works without it. Here: the routes an indication has, the
// service worker, the offline and content-update messages, and offline calculation.

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

// Grey out the routes an indication does not have (the server still validates).
function syncRoutes() {
  const select = form.querySelector("select[name=indication]");
  const routes = Object.fromEntries(
    (select.dataset.routes || "").split(" ").filter(Boolean).map((pair) => pair.split(":")),
  );
  const allowed = (routes[select.value] || "").split(",");
  const radios = [...form.querySelectorAll("input[name=route]")];
  for (const radio of radios) radio.disabled = !allowed.includes(radio.value);
  if (radios.some((r) => r.checked && r.disabled)) {
    const first = radios.find((r) => !r.disabled);
    if (first) first.checked = true;
  }
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
    rules = await response.json();
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
    say(
      `${why}: calculated on this phone with content version ${snapshot.content_version} ` +
        `of ${snapshot.content_date}.`,
    );
  } catch {
    offlineModule = null;
    // Never leave an earlier patient's figures standing as if they were this one's.
    const message = `${why}, and this phone has no saved dosing content yet: open the app once with a connection.`;
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
  syncRoutes();
  form.addEventListener("change", (event) => {
    if (event.target.name === "indication") syncRoutes();
  });
  // No network: the request is not even tried; a lost or failed one falls back the same way.
  form.addEventListener("htmx:beforeRequest", (event) => {
    if (!navigator.onLine) {
      event.preventDefault();
      calculateHere();
    }
  });
  body.addEventListener("htmx:sendError", () => calculateHere());
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
