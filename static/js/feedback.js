// The consolidated feedback page's enhancements; the page works without this file.
// No inline script or handler (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  // --- Heat map: one tab stop, arrow keys between the cells that are links (a roving tabindex).
  // Without this script every non-empty cell is a tab stop of its own.
  function grid(table) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return Array.prototype.map.call(row.cells, function (cell) { return cell.querySelector("a"); });
    });
  }

  function position(rows, link) {
    for (var r = 0; r < rows.length; r++) {
      var c = rows[r].indexOf(link);
      if (c !== -1) return [r, c];
    }
    return null;
  }

  // The next link from (r, c) going (dr, dc), skipping empty cells; null at the edge.
  function step(rows, r, c, dr, dc) {
    for (r += dr, c += dc; r >= 0 && r < rows.length && c >= 0 && c < rows[r].length; r += dr, c += dc) {
      if (rows[r][c]) return rows[r][c];
    }
    return null;
  }

  // Going down or up into a row without a link in this column: the nearest link of that row.
  function nearestInRow(rows, r, c) {
    var row = rows[r] || [];
    for (var d = 0; d < row.length; d++) {
      if (row[c - d]) return row[c - d];
      if (row[c + d]) return row[c + d];
    }
    return null;
  }

  function rove(table) {
    var links = table.querySelectorAll("td a");
    if (!links.length) return;
    function stop(current) {
      Array.prototype.forEach.call(links, function (link) { link.tabIndex = link === current ? 0 : -1; });
    }
    stop(links[0]);
    // A cell reached otherwise (a click) becomes the map's tab stop.
    table.addEventListener("focusin", function (event) {
      var link = event.target.closest && event.target.closest("td a");
      if (link) stop(link);
    });
    // A tooltip for the mouse, from the headings that name the cell (the markup stays short).
    table.addEventListener("mouseover", function (event) {
      var link = event.target.closest && event.target.closest("td a");
      if (!link || link.title) return;
      link.title = (link.getAttribute("aria-labelledby") || "").split(/\s+/).map(function (id) {
        var named = document.getElementById(id);
        if (!named) return "";
        var full = named.querySelector(".visually-hidden");
        return (full || named).textContent.trim();
      }).filter(Boolean).join(" · ");
    });
    table.addEventListener("keydown", function (event) {
      var link = event.target.closest && event.target.closest("td a");
      if (!link) return;
      var rows = grid(table), at = position(rows, link), next = null;
      if (!at) return;
      var r = at[0], c = at[1];
      switch (event.key) {
        case "ArrowRight": next = step(rows, r, c, 0, 1); break;
        case "ArrowLeft": next = step(rows, r, c, 0, -1); break;
        case "ArrowDown":
          for (var down = r + 1; down < rows.length && !next; down++) next = nearestInRow(rows, down, c);
          break;
        case "ArrowUp":
          for (var up = r - 1; up >= 0 && !next; up--) next = nearestInRow(rows, up, c);
          break;
        case "Home": next = event.ctrlKey ? links[0] : step(rows, r, -1, 0, 1); break;
        case "End": next = event.ctrlKey ? links[links.length - 1] : step(rows, r, rows[r].length, 0, -1); break;
        default: return;
      }
      event.preventDefault();
      if (next && next !== link) {
        stop(next);
        next.focus();
      }
    });
  }

  // --- The selection: a count of what is ticked, and "select every comment on this page".
  function selection() {
    var form = document.getElementById("fb-selection");
    if (!form) return;
    var boxes = function () { return document.querySelectorAll('input.fb-select[form="fb-selection"]'); };
    var count = form.querySelector("[data-selection-count]");
    var all = form.querySelector("[data-select-all]");
    function update() {
      var ticked = Array.prototype.filter.call(boxes(), function (box) { return box.checked; }).length;
      if (count) count.textContent = ticked ? "(" + ticked + ")" : "";
    }
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("input.fb-select")) update();
    });
    if (all && boxes().length) {
      all.hidden = false;
      all.addEventListener("click", function () {
        Array.prototype.forEach.call(boxes(), function (box) { box.checked = true; });
        update();
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-heatmap]").forEach(rove);
    selection();
  });
})();
