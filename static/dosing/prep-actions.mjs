// The preparation block's buttons and clock words (issue 15), on every calculator page: fills the
// next-dose and use-by times from the phone's clock, prints the sheet, copies or shares the chart
// note. No inline script: elements are found by their data-* attributes. The engine (for the
// date words) is loaded only once a result with a preparation block is on the page.

const orNull = (text) => (text === "" || text === undefined ? null : Number(text));

/** Every clock-dependent text under `root`, from the phone's clock now. */
async function fillClocks(root = document) {
  const clocks = root.querySelectorAll("[data-clock]");
  if (!clocks.length) return;
  const { clockText, nextDoseText, startText, useByText } = await import("./engine.mjs");
  const now = new Date();
  for (const element of clocks) {
    const data = element.dataset;
    // The site's zone (issue 22.5), as the server wrote them; without one, the phone's.
    const zone = element.closest("[data-time-zone]")?.dataset.timeZone || undefined;
    if (data.clock === "next") {
      const next = { kind: data.kind, days: orNull(data.days), hours: orNull(data.hours), not_before: data.notBefore || null };
      element.textContent = nextDoseText(next, now, zone);
    } else if (data.clock === "use-by") {
      element.textContent = useByText(
        { diluent: data.diluent, temperature: data.temperature, max_hours: Number(data.hours) },
        now,
        zone,
      );
    } else if (data.clock === "start") {
      const repeat = { previous_dose_start: data.previous, not_before: data.notBefore, min_hours_apart: Number(data.hours) };
      element.textContent = startText(repeat, now, zone);
    } else if (data.clock === "now") {
      element.textContent = clockText(now, zone);
    }
  }
}

function noteText(button) {
  const note = button.closest(".prep")?.querySelector("[data-chart-note]");
  return note ? note.textContent : "";
}

function say(button, text) {
  const status = button.closest(".prep")?.querySelector("[data-copy-status]");
  if (status) status.textContent = text;
}

async function copyNote(button) {
  await fillClocks();
  const text = noteText(button);
  try {
    await navigator.clipboard.writeText(text);
    say(button, "Note copied: paste it into the chart.");
  } catch {
    // No clipboard permission: open the note and select it for a manual copy.
    const note = button.closest(".prep").querySelector("[data-chart-note]");
    note.closest("details").open = true;
    window.getSelection().selectAllChildren(note);
    say(button, "Copying was refused: the note is selected, copy it with the menu.");
  }
}

async function shareNote(button) {
  await fillClocks();
  try {
    await navigator.share({ title: "ACTEMRA dose note", text: noteText(button) });
  } catch {
    // Dismissing the share sheet is not an error worth a message.
  }
}

// The bag label prints the one storage ticked on screen, with its use-by time alone (issue 22.7).
function markStorage() {
  const chosen = document.querySelector("#result input[name=bag_store]:checked");
  for (const item of document.querySelectorAll("#result .bag-label [data-store]")) {
    const on = item.dataset.store === chosen?.value;
    item.toggleAttribute("data-chosen", on);
    item.querySelector(".box").textContent = on ? "☒" : "☐";
  }
}

// Which paper: the sheet (A4, letter) or the bag label; Ctrl+P leaves it to the paper's width.
function print(button) {
  const label = button.dataset.print === "label";
  if (label && !document.querySelector("#result input[name=bag_store]:checked")) {
    say(button, "Choose the diluent and storage for the bag label first.");
    document.querySelector("#result input[name=bag_store]").focus();
    return;
  }
  say(button, "");
  document.documentElement.dataset.print = label ? "label" : "sheet";
  fillClocks().then(() => window.print());
}

function enable(root = document) {
  for (const actions of root.querySelectorAll("[data-prep-actions]")) {
    actions.hidden = false;
    const share = actions.querySelector("[data-share-note]");
    if (share) share.hidden = typeof navigator.share !== "function";
  }
  fillClocks(root);
}

if (!document.documentElement.dataset.prepReady) {
  document.documentElement.dataset.prepReady = "1";
  // The block's styles, kept off the first load (its 30 KB budget): a page served with a result
  // links them already.
  const css = document.body.dataset.prepCss;
  if (css && !document.querySelector(`link[href="${css}"]`)) {
    document.head.append(Object.assign(document.createElement("link"), { rel: "stylesheet", href: css }));
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-print], [data-copy-note], [data-share-note]");
    if (!button) return;
    if (button.hasAttribute("data-print")) {
      print(button);
    } else if (button.hasAttribute("data-copy-note")) {
      copyNote(button);
    } else {
      shareNote(button);
    }
  });
  window.addEventListener("beforeprint", () => fillClocks());
  window.addEventListener("afterprint", () => delete document.documentElement.dataset.print);
  document.addEventListener("change", (event) => {
    if (event.target.name === "bag_store") markStorage();
  });
  document.body.addEventListener("htmx:afterSwap", () => enable());
  // The offline renderer replaces #result without htmx: watch for any new result.
  const live = document.querySelector(".answer");
  if (live) new MutationObserver(() => enable(live)).observe(live, { childList: true });
  enable();
}
