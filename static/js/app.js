// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // On a phone the contents list would push the text far down: start it folded.
  function foldContents() {
    if (window.matchMedia("(max-width: 60rem)").matches) {
      document.querySelectorAll(".section-nav details[open]").forEach(function (d) { d.open = false; });
    }
  }
  document.addEventListener("DOMContentLoaded", foldContents);
})();
