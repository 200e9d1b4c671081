// The site's small behaviours, driven by data attributes. The Content-Security-Policy
// forbids inline scripts, inline event handlers (onchange=…, hx-on…) and eval, so this
// file is where such behaviour lives. Every listener is delegated from the document, so
// it works as well for content that HTMX swaps in later.
(function () {
  "use strict";

  // <select data-autosubmit>: choosing an option submits its form.
  document.addEventListener("change", function (event) {
    const field = event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.requestSubmit();
  });

  // data-confirm="Question?" on a form, or on the submit button that sends it: the form
  // is sent only if the user says yes. Captured on the document, so it runs before any
  // other submit handler.
  document.addEventListener(
    "submit",
    function (event) {
      const submitter = event.submitter;
      const question =
        (submitter && submitter.dataset.confirm) || event.target.dataset.confirm;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );

  // <form data-choice-sections="next_step">: of the boxes marked data-choice="…" inside,
  // only the one of the checked radio button's value shows (all stay in the form, and
  // without this script all show).
  function syncChoiceSections(form) {
    const name = form.dataset.choiceSections;
    const chosen = Array.from(form.elements).find(function (field) {
      return field.name === name && field.checked;
    });
    form.querySelectorAll("[data-choice]").forEach(function (box) {
      box.hidden = !chosen || box.dataset.choice !== chosen.value;
    });
  }
  function syncAllChoiceSections(root) {
    root.querySelectorAll("form[data-choice-sections]").forEach(syncChoiceSections);
  }
  document.addEventListener("change", function (event) {
    const form = event.target.form;
    if (form && form.dataset.choiceSections === event.target.name) syncChoiceSections(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncAllChoiceSections(document);
  });
  document.addEventListener("htmx:load", function (event) {
    syncAllChoiceSections(event.target);
  });

  // An element marked data-remove-on-error (a placeholder that loads itself) disappears
  // when its HTMX request fails instead of spinning for ever.
  document.addEventListener("htmx:responseError", function (event) {
    const element = event.detail.elt;
    if (element && element.matches("[data-remove-on-error]")) element.remove();
  });

  // <div class="modal" data-reset-from="template-id">: once hidden, the modal's content is
  // put back to that template's, so the next opening never flashes the previous one.
  document.addEventListener("hidden.bs.modal", function (event) {
    const modal = event.target;
    const template = modal.dataset && document.getElementById(modal.dataset.resetFrom || "");
    const content = modal.querySelector(".modal-content");
    if (template && content) content.replaceChildren(template.content.cloneNode(true));
  });

  // <button data-print>: prints the page (its print styles keep only what matters).
  // <button data-copy="text" data-copied="Copied">: copies the text, and says so.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
      return;
    }
    const button = event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      const label = button.querySelector("span") || button;
      label.textContent = button.dataset.copied || label.textContent;
    });
  });

  // <button data-fill='{"field": "value", …}' data-fill-chosen="Chosen: …"> inside a
  // form: puts each value into the form's field of that name (an offered free slot fills
  // the date, time and doctor; typing by hand still works), marks the button pressed among
  // those of its [data-fill-group] and says what was chosen in the group's [data-fill-status].
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-fill]");
    if (!button) return;
    const form = button.closest("form");
    let values;
    try {
      values = JSON.parse(button.dataset.fill);
    } catch (error) {
      return;
    }
    if (!form || !values) return;
    Object.keys(values).forEach(function (name) {
      const field = form.elements.namedItem(name);
      if (!field || !("value" in field)) return;
      field.value = values[name];
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
    const group = button.closest("[data-fill-group]") || form;
    group.querySelectorAll("button[data-fill]").forEach(function (other) {
      other.setAttribute("aria-pressed", other === button ? "true" : "false");
      other.classList.toggle("active", other === button);
    });
    const status = group.querySelector("[data-fill-status]");
    if (status) status.textContent = button.dataset.fillChosen || "";
  });
})();
