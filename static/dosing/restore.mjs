// The tab's last result put back (Back, Forward, a reload: app.mjs decides when), and said so
// with the time it was calculated and a "New patient" button. Loaded only then: the first load
// stays light.

/** Puts the saved result back; `app` carries what app.mjs shares: form, stamp and helpers. */
export function restore(app, saved) {
  const { form, stamp } = app;
  // Only onto an empty page nobody has started typing into: a result the server just rendered,
  // or a form being filled, is newer.
  if (!saved || app.touched() || document.querySelector("#result .head, #result li[data-field]")) return;
  // Options greyed out for another product (product.mjs) are offered again first: a chosen option
  // that is disabled is not sent, and the recalculation below would lose the indication. The
  // saved product comes back with its patient (the result names it); syncChoices greys out again.
  for (const option of form.querySelectorAll("option:disabled")) option.disabled = false;
  for (const [name, value] of saved.fields) {
    for (const element of form.querySelectorAll(`[name="${name}"]`)) {
      if (element.type === "radio") element.checked = element.value === value;
      else element.value = value;
    }
  }
  app.syncChoices();
  sayRestored(app, saved.at);
  if (saved.fields.some(([name, value]) => value && /_per_mm3$|_x_uln$/.test(name))) {
    form.querySelector("details.labs").open = true;
  }
  if (stamp && saved.version === stamp.dataset.contentVersion) {
    const template = document.createElement("template");
    template.innerHTML = saved.html;
    document.getElementById("result").replaceWith(template.content.firstElementChild);
    app.shown();
  } else if (window.htmx) {
    // Content moved on: the same inputs, calculated again (through htmx's API, so the answer is
    // swapped in like any other). htmx rejects its promise, with no reason, when the request is
    // dropped for a newer one (the clinician typed: hx-sync replace) or fails; each has its own
    // event and handler (app.mjs calculates here on htmx:sendError), so the rejection only needs
    // handling, or it is an uncaught error on a busy ward's phone.
    window.htmx
      .ajax("POST", form.action, { source: form, target: "#result", swap: "outerHTML" })
      .catch(() => {});
  }
}

/** The notice at the top of the form (also for a page the browser's cache brought back). */
export function sayRestored(app, at) {
  if (app.form.querySelector(".restored")) return;
  const time = at ? new Date(at).toTimeString().slice(0, 5) : "";
  const note = Object.assign(document.createElement("p"), {
    className: "restored",
    textContent: `Restored: the last result in this tab${time && `, calculated at ${time}`}. `,
  });
  note.setAttribute("role", "status");
  const button = Object.assign(document.createElement("button"), { type: "button", className: "close", textContent: "New patient" });
  button.addEventListener("click", app.newPatient);
  note.append(button);
  app.form.prepend(note);
}
