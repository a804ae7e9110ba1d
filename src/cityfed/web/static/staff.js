// Progressive enhancement for the staff pages; everything works without this file.
// - "Preview the description" renders the Markdown in place (the same server-side renderer
//   the published page uses) instead of submitting the whole form.
// - An error summary takes the focus, so keyboard and screen-reader users land on it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary[tabindex]");
    if (summary) { summary.focus(); }
    var buttons = document.querySelectorAll("button[data-preview]");
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-preview"));
      var section = document.getElementById("preview");
      var body = document.getElementById("preview-body");
      var form = button.form;
      if (!source || !section || !body || !form || !window.fetch) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var data = new FormData();
        data.append("csrf", form.elements.csrf.value);
        data.append("text", source.value);
        fetch("/staff/preview", { method: "POST", body: data, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.text() : Promise.reject(); })
          .then(function (html) { body.innerHTML = html; section.hidden = false; })
          .catch(function () { form.requestSubmit(form.querySelector("button[value=preview]")); });
      });
    });
  });
})();
