// openbooks ui: draw each page's charts from their specs with the bundled
// vega-embed, and keep empty filters out of the URL.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll(".vega[data-spec]")) {
    const spec = JSON.parse(document.getElementById("spec-" + el.dataset.spec).textContent);
    const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
    window.vegaEmbed(el, spec, {mode: "vega-lite", renderer: "svg", actions: false,
      theme: dark ? "dark" : undefined}).then(() => el.setAttribute("data-drawn", "1"));
  }
  for (const form of document.querySelectorAll("form.filters")) {
    form.addEventListener("submit", () => {
      for (const field of form.elements) { if (field.name && !field.value) field.disabled = true; }
    });
  }
});
