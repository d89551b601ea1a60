// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Live countdowns for <time data-countdown>: the server renders the initial text.
  function fmt(ms) {
    if (ms <= 0) return null;
    var m = Math.floor(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + mm + "m";
  }
  function tick() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = fmt(new Date(el.getAttribute("datetime")) - new Date());
      var out = el.parentNode.querySelector(".countdown-live");
      if (!out) { out = document.createElement("span"); out.className = "countdown-live"; out.setAttribute("aria-hidden", "true"); el.after(out); }
      out.textContent = left ? " · " + left : "";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
})();
