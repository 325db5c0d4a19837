// "Why" in place: the label section a result links to opens in a dialog over the result, taken
// from the monograph page (the service worker's saved copy when offline); closing it returns to
// the link, the result untouched. Loaded by app.mjs on the first tap of such a link.

let monograph = null;

function h(tag, attributes = {}, ...children) {
  const element = Object.assign(document.createElement(tag), attributes);
  element.append(...children);
  return element;
}

function dialog() {
  let sheet = document.getElementById("why");
  if (sheet) return sheet;
  const close = h("form", { method: "dialog" }, h("button", { type: "submit", className: "close" }, "Close"));
  sheet = h(
    "dialog",
    { id: "why", className: "why" },
    h("div", { className: "why-head" }, h("h2", { id: "why-title" }, "From the label"), close),
    h("div", { id: "why-body", className: "why-body" }),
    h("p", {}, h("a", { id: "why-full", className: "why-full" }, "Open the full monograph")),
  );
  sheet.setAttribute("aria-labelledby", "why-title");
  document.body.append(sheet);
  return sheet;
}

// The monograph's own styles (its tables), taken from the page read: off the calculator's first
// load. Resolves once they apply (or failed to load: the text still shows).
function adoptStyles(page) {
  const loads = [...page.querySelectorAll("link[rel=stylesheet]")].map((link) => {
    const href = link.getAttribute("href");
    if (document.querySelector(`link[href="${href}"]`)) return null;
    const copy = Object.assign(document.createElement("link"), { rel: "stylesheet", href });
    const loaded = new Promise((done) => {
      copy.onload = copy.onerror = done;
    });
    document.head.append(copy);
    return loaded;
  });
  return Promise.all(loads);
}

/** The part of the monograph an anchor names, with its section's title; null when not saved. */
async function section(url) {
  monograph ??= fetch(url.pathname)
    .then((response) => {
      if (!response.ok) throw new Error(`monograph: HTTP ${response.status}`);
      return response.text();
    })
    .then((html) => new DOMParser().parseFromString(html, "text/html"));
  try {
    const page = await monograph;
    await adoptStyles(page);
    const target = page.getElementById(decodeURIComponent(url.hash.slice(1)));
    if (!target) return null;
    // A table row or a list item means little alone: show its table or list, the row marked.
    const part = target.matches("tr, li") ? target.closest(".table-wrap, ul") : target;
    const heading = target.closest("section")?.querySelector("h2, h3");
    target.classList.add("hit");
    const copy = document.importNode(part, true);
    for (const element of [copy, ...copy.querySelectorAll("[id], [aria-labelledby]")]) {
      element.removeAttribute("id"); // the page's own ids stay unique
      element.removeAttribute("aria-labelledby");
    }
    return { title: heading ? heading.firstChild.textContent.trim() : "From the label", copy };
  } catch {
    monograph = null;
    return null;
  }
}

export async function openLabel(link, url) {
  const sheet = dialog();
  const found = await section(url);
  document.getElementById("why-title").textContent = found ? found.title : "From the label";
  const missing = h("p", {
    textContent: "This label section is not saved on this phone yet: open the monograph once with a connection.",
  });
  const content = document.getElementById("why-body");
  content.replaceChildren(found ? found.copy : missing);
  document.getElementById("why-full").href = url.pathname + url.hash;
  sheet.addEventListener("close", () => link.focus(), { once: true });
  sheet.showModal();
  content.scrollTop = 0;
}
