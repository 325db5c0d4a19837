// Progressive enhancement for the calculator; the page works without it.
// Grey out the routes an indication does not have (the server still validates).

function syncRoutes(form) {
  const select = form.querySelector("select[name=indication]");
  if (!select) return;
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

const form = document.querySelector("form.calc");
if (form) {
  syncRoutes(form);
  form.addEventListener("change", (event) => {
    if (event.target.name === "indication") syncRoutes(form);
  });
}
