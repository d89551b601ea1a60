// Small progressive enhancements; every page works without this file.
// No inline script or handler anywhere (the Content-Security-Policy forbids them): behaviour
// that markup asks for through data-* attributes lives here.
(function () {
  "use strict";
  // On a phone the contents list would push the text far down: start it folded.
  function foldContents() {
    if (window.matchMedia("(max-width: 60rem)").matches) {
      document.querySelectorAll(".section-nav details[open]").forEach(function (d) { d.open = false; });
    }
  }
  document.addEventListener("DOMContentLoaded", foldContents);

  // <select data-autosubmit>: choosing an option submits its form (the language selector).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });

  // The element itself and every ancestor carrying the attribute, nearest first.
  function holders(element, attribute) {
    var found = [];
    for (var node = element; node && node.nodeType === 1; node = node.parentElement) {
      if (node.hasAttribute(attribute)) found.push(node);
    }
    return found;
  }

  // htmx leaves error answers unswapped; these blocks show the message the server sent instead:
  // data-swap-retarget swaps an answer that names its own target (HX-Retarget), and
  // data-swap-statuses="400 403 412" swaps answers with one of those statuses.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var swap = holders(event.target, "data-swap-retarget").length > 0 && detail.xhr.getResponseHeader("HX-Retarget");
    holders(event.target, "data-swap-statuses").forEach(function (holder) {
      if (holder.getAttribute("data-swap-statuses").split(/\s+/).indexOf(String(detail.xhr.status)) !== -1) {
        swap = true;
      }
    });
    if (swap) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // <form data-reset-on-success>: emptied once htmx has sent it successfully (a posted reply).
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) return;
    holders(event.target, "data-reset-on-success").forEach(function (form) {
      if (typeof form.reset === "function") form.reset();
    });
  });
})();
