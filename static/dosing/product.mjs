// The chosen product's label in words (issue 23). app.mjs has already greyed out the routes the
// label lacks (a chosen one stays chosen, to be refused); this says why, greys out the indications it
// does not carry (named so in their option), and keeps the product for this tab's next patient.
// Loaded only when a product lacks anything or one was kept: ACTEMRA's first load stays light.

const KEPT = "actemra-product";

// The product is the pharmacy's stock, not the patient's: "New patient" and the Calculator link
// give a new form with this tab's product (sessionStorage: a new tab starts from the site's
// default). A form that is not new keeps its own: a result restored on Back names its product.
// `sync`: app.mjs's syncChoices, which then explains.
export function choose(form, sync) {
  const select = form.elements.product;
  try {
    const kept = sessionStorage.getItem(KEPT);
    const fresh = !form.elements.weight.value && !document.querySelector("#result .head, #result li[data-field]");
    // Only over the page's own default: a product chosen while this module loaded stays chosen.
    const untouched = select.value === select.querySelector("option[selected]")?.value;
    if (fresh && untouched && [...select.options].some((option) => option.value === kept)) select.value = kept;
  } catch {
    // No storage: the site's default product on each new form, as without this.
  }
  sync();
}

/** `routes`: the indication select's data-routes as read ({slug: "iv,sc"}). */
export function explain(form, routes) {
  try {
    sessionStorage.setItem(KEPT, form.elements.product.value);
  } catch {
    // No storage: nothing kept.
  }
  const product = form.elements.product.selectedOptions[0];
  const lacks = (product.dataset.lacks || "").split(" ");
  const brand = product.textContent.replace(/ \(.*/, "");
  const select = form.elements.indication;
  const carried = (slug) => (routes[slug] || "").split(",").some((route) => !lacks.includes(`${slug}:${route}`));
  for (const option of select.options) {
    option.dataset.name ??= option.textContent;
    const not = !carried(option.value);
    // Never the chosen one: a disabled option is not sent, and the form would lose the indication.
    option.disabled = not && !option.selected;
    option.textContent = option.dataset.name + (not ? ` (not on ${brand}'s label)` : "");
  }
  const name = select.selectedOptions[0]?.dataset.name;
  const lacking = [...form.querySelectorAll("input[name=route]")]
    .filter((radio) => lacks.includes(`${select.value}:${radio.value}`))
    .map((radio) => radio.parentElement.textContent.trim());
  const text = !carried(select.value)
    ? `${brand}'s label does not carry ${name}: choose another product or indication.`
    : lacking.length
      ? `${lacking.join(" and ")}: not on ${brand}'s label for ${name}.`
      : "";
  const note = noteFor(form.elements.product);
  // A live region is heard only when it changes after it is in the page: the words a frame later.
  requestAnimationFrame(() => {
    note.textContent = text;
    note.hidden = !text;
  });
}

/** The reason, under the product (a status region: screen readers hear it change). */
function noteFor(select) {
  let note = document.getElementById("product-note");
  if (!note) {
    note = Object.assign(document.createElement("p"), { className: "hint", id: "product-note", hidden: true });
    note.setAttribute("role", "status");
    select.after(note);
  }
  return note;
}
