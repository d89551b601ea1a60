// @mentions: typing "@" and the start of a handle or name in a comment or reply suggests the
// people who may see the thread (the server's list: comments:mentions). Arrow keys move, Enter
// or Tab takes one, Escape closes; a tap or click takes one too. Without this file "@handle"
// typed by hand names the person all the same: the server resolves handles when it saves.
(function () {
  "use strict";
  var TOKEN = /(^|[^\w@.+\-])@([\w.+\-]*)$/u;
  var counter = 0;
  var timer = null;
  var state = null; // {field, list, status, start, items, active}

  document.documentElement.classList.add("js-mentions");

  function fieldOf(target) {
    if (!target || target.tagName !== "TEXTAREA") return null;
    var form = target.closest("form[data-mentions-url]");
    return form && (target.name === "body" || target.name === "proposed_change") ? target : null;
  }

  function ensureList(field) {
    if (field.dataset.mentionsList) return document.getElementById(field.dataset.mentionsList);
    counter += 1;
    var list = document.createElement("ul");
    list.id = "mention-list-" + counter;
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", field.form.dataset.mentionsLabel || "People");
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.id = list.id + "-status";
    field.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);
    field.dataset.mentionsList = list.id;
    field.setAttribute("aria-controls", list.id);
    return list;
  }

  function close() {
    if (!state) return;
    state.list.hidden = true;
    state.list.innerHTML = "";
    state.field.removeAttribute("aria-activedescendant");
    state = null;
  }

  function show(field, start, people) {
    var list = ensureList(field);
    var status = document.getElementById(list.id + "-status");
    list.innerHTML = "";
    if (!people.length) {
      close();
      return;
    }
    people.forEach(function (person, index) {
      var item = document.createElement("li");
      item.id = list.id + "-" + index;
      item.setAttribute("role", "option");
      item.dataset.handle = person.handle;
      var name = document.createElement("span");
      name.className = "mention-name";
      name.textContent = person.name;
      var meta = document.createElement("span");
      meta.className = "mention-meta";
      meta.textContent = "@" + person.handle + (person.organisation ? " · " + person.organisation : "");
      item.appendChild(name);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(meta);
      list.appendChild(item);
    });
    list.hidden = false;
    state = { field: field, list: list, start: start, items: list.children, active: 0 };
    status.textContent = (field.form.dataset.mentionsLabel || "") + ": " + people.length;
    highlight(0);
  }

  function highlight(index) {
    if (!state) return;
    var n = state.items.length;
    state.active = (index + n) % n;
    Array.prototype.forEach.call(state.items, function (item, i) {
      item.setAttribute("aria-selected", i === state.active ? "true" : "false");
    });
    state.field.setAttribute("aria-activedescendant", state.items[state.active].id);
  }

  function take(index) {
    if (!state) return;
    var field = state.field;
    var handle = state.items[index].dataset.handle;
    var caret = field.selectionStart;
    var before = field.value.slice(0, state.start) + "@" + handle + " ";
    field.value = before + field.value.slice(caret);
    field.setSelectionRange(before.length, before.length);
    close();
    field.focus();
  }

  function lookup(field) {
    var caret = field.selectionStart;
    if (caret !== field.selectionEnd) return close();
    var match = TOKEN.exec(field.value.slice(0, caret));
    if (!match) return close();
    var start = caret - match[2].length - 1;
    var url = field.form.dataset.mentionsUrl;
    url += (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(match[2]);
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { people: [] }; })
        .then(function (data) { if (document.activeElement === field) show(field, start, data.people || []); })
        .catch(close);
    }, 150);
  }

  document.addEventListener("input", function (event) {
    var field = fieldOf(event.target);
    if (field) lookup(field);
  });

  document.addEventListener("keydown", function (event) {
    if (!state || event.target !== state.field) return;
    if (event.key === "ArrowDown") { highlight(state.active + 1); event.preventDefault(); }
    else if (event.key === "ArrowUp") { highlight(state.active - 1); event.preventDefault(); }
    else if (event.key === "Enter" || event.key === "Tab") { take(state.active); event.preventDefault(); }
    else if (event.key === "Escape") { close(); event.preventDefault(); }
  });

  // mousedown, not click: the field keeps its focus and caret.
  document.addEventListener("mousedown", function (event) {
    if (!state) return;
    var item = event.target.closest && event.target.closest(".mention-list [role=option]");
    if (item && state.list.contains(item)) {
      event.preventDefault();
      take(Array.prototype.indexOf.call(state.items, item));
    } else if (event.target !== state.field) {
      close();
    }
  });

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.field) setTimeout(close, 200);
  });
})();
