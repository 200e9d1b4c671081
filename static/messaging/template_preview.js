// Live preview of a message template in the admin: as the manager types, the server
// renders the text for an example patient (or names what is wrong with it).
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var body = document.getElementById("id_body");
    if (!body) return;
    var form = body.form;
    var url = form.getAttribute("data-preview-url") || "/messages/templates/preview/";
    var box = document.createElement("div");
    box.id = "template-live-preview";
    box.setAttribute("aria-live", "polite");
    box.style.cssText = "white-space: pre-wrap; max-width: 40rem; margin: 8px 0; padding: 8px 12px; border: 1px solid #ccc; border-radius: 4px;";
    body.closest(".form-row, .form-group, div").after(box);
    var timer = null;
    function refresh() {
      var data = new FormData();
      ["subject", "body", "language"].forEach(function (name) {
        var field = form.elements[name];
        data.append(name, field ? field.value : "");
      });
      data.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
      fetch(url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) { box.innerHTML = html; });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    }
    ["id_subject", "id_body", "id_language"].forEach(function (id) {
      var field = document.getElementById(id);
      if (field) field.addEventListener("input", later);
    });
    refresh();
  });
})();
