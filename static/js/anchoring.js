// Selecting a passage of the section text to comment on it (mouse, touch or keyboard), and the
// links between highlighted passages and comment cards. A mouse selects a passage; a tap on a
// paragraph (touch, pen) or Enter/C on a focused one opens the sentence picker: one of its sentences,
// or the whole paragraph. Without this file the comment form still
// works: the comment is then on the whole section.
//
// Offsets are Unicode code points in section.body, as in Python (comments/anchoring.py): each
// <p data-offset="N"> of #section-text holds body[N:...] verbatim, so a point in the text is N plus
// the code points before it in its paragraph. The quote and its context are cut from the body
// itself (the json_script #section-body-data), never from what the browser renders.
(function () {
  "use strict";

  var CONTEXT = 32;
  var layout, labels, body, bodyChars, button, picker, activeForm;

  function cpLength(text) { return Array.from(text).length; }

  function textEl() { return document.getElementById("section-text"); }

  function paragraphOf(node) {
    var el = node.nodeType === 1 ? node : node.parentElement;
    return el ? el.closest("#section-text p[data-offset]") : null;
  }

  // Code-point offset in the body of a DOM boundary point inside #section-text.
  function pointToOffset(node, offset, isEnd) {
    var root = textEl();
    var p = paragraphOf(node);
    if (!p) {
      // Between paragraphs (the container is #section-text itself): snap to the nearest paragraph edge.
      var paragraphs = root.querySelectorAll("p[data-offset]");
      var child = node === root ? root.childNodes[offset] : null;
      var next = child && child.nodeType === 1 && child.matches("p[data-offset]") ? child : null;
      if (!next) {
        for (var i = 0; i < paragraphs.length; i++) {
          if (node.compareDocumentPosition(paragraphs[i]) & Node.DOCUMENT_POSITION_FOLLOWING) { next = paragraphs[i]; break; }
        }
      }
      if (isEnd) {
        var prev = next ? next.previousElementSibling : paragraphs[paragraphs.length - 1];
        while (prev && !prev.matches("p[data-offset]")) prev = prev.previousElementSibling;
        return prev ? Number(prev.dataset.offset) + cpLength(prev.textContent) : 0;
      }
      return next ? Number(next.dataset.offset) : bodyChars.length;
    }
    var range = document.createRange();
    range.setStart(p, 0);
    range.setEnd(node, offset);
    return Number(p.dataset.offset) + cpLength(range.toString());
  }

  // The anchor for body[start:end], trimmed of surrounding white space; null if nothing is left.
  function anchorFor(start, end) {
    start = Math.max(0, Math.min(start, bodyChars.length));
    end = Math.max(start, Math.min(end, bodyChars.length));
    while (start < end && /\s/.test(bodyChars[start])) start++;
    while (end > start && /\s/.test(bodyChars[end - 1])) end--;
    if (end <= start) return null;
    return {
      exact: bodyChars.slice(start, end).join(""),
      prefix: bodyChars.slice(Math.max(0, start - CONTEXT), start).join(""),
      suffix: bodyChars.slice(end, end + CONTEXT).join(""),
      start: start,
      end: end
    };
  }

  // A letter, digit or mark of a script written with spaces between words (an apostrophe inside a
  // word too). Thai, Lao, Khmer and Burmese are left out: without spaces, a "word" found this way
  // would be a whole sentence; there only combining marks are taken along (never half a cluster).
  var WORD_CHAR = /[\p{L}\p{N}\p{M}'\u2019]/u;
  var NO_SPACE_SCRIPT = /[\u0E00-\u0EFF\u1000-\u109F\u1780-\u17FF\u19E0-\u19FF\uAA60-\uAA7F\uA9E0-\uA9FF]/;
  var MARK = /\p{M}/u;

  function inWord(ch) { return ch !== undefined && WORD_CHAR.test(ch) && !NO_SPACE_SCRIPT.test(ch); }

  // A selection that starts or ends inside a word takes the whole word ("...for all i" -> "...for all
  // islands"), as word processors do; a mark is never separated from its letter.
  function snapToWords(start, end) {
    while (start > 0 && start < bodyChars.length && inWord(bodyChars[start]) && inWord(bodyChars[start - 1])) start--;
    while (start > 0 && start < bodyChars.length && MARK.test(bodyChars[start])) start--;
    while (end > 0 && end < bodyChars.length && inWord(bodyChars[end - 1]) && inWord(bodyChars[end])) end++;
    while (end < bodyChars.length && MARK.test(bodyChars[end])) end++;
    return [start, end];
  }

  function selectionAnchor() {
    var sel = window.getSelection();
    var root = textEl();
    if (!sel || sel.isCollapsed || !sel.rangeCount || !root) return null;
    var range = sel.getRangeAt(0);
    if (!root.contains(range.startContainer) || !root.contains(range.endContainer)) return null;
    var snapped = snapToWords(pointToOffset(range.startContainer, range.startOffset, false),
                              pointToOffset(range.endContainer, range.endOffset, true));
    return { anchor: anchorFor(snapped[0], snapped[1]), rect: range.getBoundingClientRect() };
  }

  // --- the form ---------------------------------------------------------------------------

  function formFor() {
    if (activeForm && document.contains(activeForm)) return activeForm;
    return document.getElementById("comment-form") || document.querySelector("form[data-comment-form]");
  }

  function field(form, name) { return form.querySelector('[name="' + name + '"]'); }

  function setAnchor(anchor) {
    var form = formFor();
    if (!form || !anchor) return;
    field(form, "quote_exact").value = anchor.exact;
    field(form, "quote_prefix").value = anchor.prefix;
    field(form, "quote_suffix").value = anchor.suffix;
    field(form, "position_start").value = anchor.start;
    field(form, "position_end").value = anchor.end;
    showPreview(form, anchor.exact);
    var suggest = field(form, "is_suggestion");
    if (suggest && suggest.checked) startSuggestion(form);
    // The passage now shows above the form; a lingering selection would bring the button back.
    var sel = window.getSelection();
    if (sel && textEl() && textEl().contains(sel.anchorNode)) sel.removeAllRanges();
    hideButton();
    var bodyField = field(form, "body");
    form.scrollIntoView({ block: "nearest", behavior: "smooth" });
    if (bodyField) bodyField.focus({ preventScroll: true });
  }

  function clearAnchor(form) {
    ["quote_exact", "quote_prefix", "quote_suffix", "position_start", "position_end"].forEach(function (name) {
      var input = field(form, name);
      if (input) input.value = "";
    });
    // No passage, no suggested edit of it (the proposed change the writer typed stays).
    var suggest = field(form, "is_suggestion");
    if (suggest) suggest.checked = false;
    showPreview(form, "");
  }

  // --- suggestion mode: the proposed change starts as the passage, edited in place ----------

  function startSuggestion(form) {
    var proposed = field(form, "proposed_change");
    var quote = field(form, "quote_exact");
    if (!proposed || !quote || !quote.value) return;
    // Only an empty field (or one still holding an earlier passage untouched) is filled in.
    if (!proposed.value.trim() || proposed.value === proposed.dataset.suggestedFrom) {
      proposed.value = quote.value;
      proposed.dataset.suggestedFrom = quote.value;
    }
    proposed.focus();
  }

  function showPreview(form, exact) {
    var preview = form.querySelector("[data-anchor-preview]");
    var hint = form.querySelector("[data-anchor-hint]");
    if (preview) {
      preview.hidden = !exact;
      var quote = preview.querySelector("[data-anchor-quote]");
      if (quote) quote.textContent = exact.length > 400 ? Array.from(exact).slice(0, 399).join("") + "…" : exact;
    }
    if (hint) hint.hidden = !!exact;
  }

  // --- "Comment on this passage" button ---------------------------------------------------

  var pending = null;
  function hideButton() { if (button) button.hidden = true; pending = null; }

  function updateButton() {
    var found = selectionAnchor();
    if (!found || !found.anchor || !formFor()) { hideButton(); return; }
    pending = found.anchor;
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "anchor-button";
      button.textContent = labels.comment;
      // Keep the selection when the button is pressed.
      button.addEventListener("mousedown", function (e) { e.preventDefault(); });
      button.addEventListener("click", function () { if (pending) setAnchor(pending); });
      document.body.appendChild(button);
    }
    button.hidden = false;
    var top = found.rect.bottom + window.scrollY + 6;
    var left = Math.min(found.rect.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - button.offsetWidth - 8);
    button.style.top = top + "px";
    button.style.left = Math.max(window.scrollX + 4, left) + "px";
  }

  var timer = null;
  function scheduleUpdate() { clearTimeout(timer); timer = setTimeout(updateButton, 120); }

  // --- keyboard: sentences of a focused paragraph -----------------------------------------

  var TERMINATORS = /[.!?…。！？]/;
  var CLOSERS = /["'”’)\]»」』]/;

  // [start, end) code-point ranges of the sentences of text; the whole text if no sentence break.
  function sentences(chars) {
    var found = [], start = 0, i = 0;
    while (i < chars.length) {
      if (TERMINATORS.test(chars[i])) {
        var j = i + 1;
        while (j < chars.length && (TERMINATORS.test(chars[j]) || CLOSERS.test(chars[j]))) j++;
        // Latin punctuation ends a sentence before a space; CJK full stops end it anyway.
        if (j >= chars.length || /\s/.test(chars[j]) || /[。！？]/.test(chars[i])) {
          found.push([start, j]);
          start = j;
        }
        i = j;
      } else {
        i++;
      }
    }
    if (start < chars.length) found.push([start, chars.length]);
    return found.filter(function (r) { return chars.slice(r[0], r[1]).join("").trim(); });
  }

  function closePicker(returnFocus) {
    if (!picker) return;
    var p = picker._paragraph;
    picker.remove();
    picker = null;
    if (returnFocus && p) p.focus();
  }

  // A choice of the picker: a button that anchors the comment on body[offset + r[0]:offset + r[1]].
  function pickerChoice(text, offset, r) {
    var item = document.createElement("li");
    var choice = document.createElement("button");
    choice.type = "button";
    choice.textContent = text;
    choice.addEventListener("click", function () {
      closePicker(false);
      setAnchor(anchorFor(offset + r[0], offset + r[1]));
    });
    item.appendChild(choice);
    return item;
  }

  // atY: the page coordinate of a tap, near which the picker opens (a long paragraph on a phone
  // would put its end off the screen); without it, under the paragraph.
  function openPicker(p, atY) {
    closePicker(false);
    var offset = Number(p.dataset.offset);
    var chars = bodyChars.slice(offset, offset + cpLength(p.textContent));
    picker = document.createElement("div");
    picker.className = "sentence-picker";
    picker.setAttribute("role", "dialog");
    picker.setAttribute("aria-label", labels.sentences);
    picker._paragraph = p;
    var heading = document.createElement("p");
    heading.textContent = labels.sentences;
    picker.appendChild(heading);
    var list = document.createElement("ol");
    var found = sentences(chars);
    found.forEach(function (r) {
      list.appendChild(pickerChoice(chars.slice(r[0], r[1]).join("").trim(), offset, r));
    });
    if (found.length > 1) {
      var whole = pickerChoice(labels.whole, offset, [0, chars.length]);
      whole.className = "whole-paragraph";
      list.appendChild(whole);
    }
    picker.appendChild(list);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = labels.close;
    close.addEventListener("click", function () { closePicker(true); });
    picker.appendChild(close);
    picker.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); closePicker(true); }
    });
    document.body.appendChild(picker);
    var rect = p.getBoundingClientRect();
    var top = rect.bottom + window.scrollY + 4;
    if (atY !== undefined) top = Math.min(top, atY + 16);
    picker.style.top = top + "px";
    picker.style.left = Math.max(4, rect.left + window.scrollX) + "px";
    var first = picker.querySelector("ol button");
    if (first) first.focus({ preventScroll: true });
    picker.scrollIntoView({ block: "nearest" });
  }

  // The kind of pointer of the last press: a click that follows a touch or a pen is a tap.
  var lastPointer = "";
  function isTap(e) {
    var kind = e.pointerType || lastPointer;
    return kind === "touch" || kind === "pen";
  }

  // --- marks <-> cards --------------------------------------------------------------------

  function marksOf(pk) { return document.querySelectorAll('#section-text mark[data-comments~="' + pk + '"]'); }

  function setActive(pk, on) {
    marksOf(pk).forEach(function (m) { m.classList.toggle("is-active", on); });
  }

  function goToCard(pk) {
    var card = document.getElementById("comment-" + pk);
    if (!card) return;
    card.scrollIntoView({ block: "nearest", behavior: "smooth" });
    card.focus({ preventScroll: true });
  }

  function goToMark(pk) {
    var mark = marksOf(pk)[0];
    if (!mark) return false;
    mark.scrollIntoView({ block: "center", behavior: "smooth" });
    setActive(pk, true);
    setTimeout(function () { setActive(pk, false); }, 1500);
    var p = paragraphOf(mark);
    if (p) p.focus({ preventScroll: true });
    return true;
  }

  // On wide screens, move each card down to the height of its passage when there is room.
  function alignCards() {
    var list = document.getElementById("comment-list");
    if (!list) return;
    var cards = list.querySelectorAll(".comment-card");
    cards.forEach(function (card) { card.style.marginTop = ""; });
    if (!window.matchMedia("(min-width: 64rem)").matches || cards.length > 300) return;
    cards.forEach(function (card) {
      var mark = marksOf(card.dataset.comment)[0];
      if (!mark) return;
      var gap = mark.getBoundingClientRect().top - card.getBoundingClientRect().top;
      if (gap > 0) card.style.marginTop = gap + "px";
    });
  }

  // --- wiring -----------------------------------------------------------------------------

  function prepareText() {
    var root = textEl();
    if (!root) return;
    root.querySelectorAll("p[data-offset]").forEach(function (p) {
      p.tabIndex = 0;
      p.setAttribute("aria-describedby", "anchoring-help");
    });
    // The counts come from the server (they cover every page of the column, not the cards shown).
    alignCards();
  }

  function init() {
    layout = document.querySelector("[data-anchoring]");
    var data = document.getElementById("section-body-data");
    if (!layout || !data || !textEl()) return;
    body = JSON.parse(data.textContent);
    bodyChars = Array.from(body);
    labels = {
      comment: layout.dataset.labelComment,
      sentences: layout.dataset.labelSentences,
      close: layout.dataset.labelClose,
      paragraph: layout.dataset.labelParagraph,
      whole: layout.dataset.labelWhole
    };
    document.documentElement.classList.add("js-anchoring");
    var help = document.createElement("p");
    help.id = "anchoring-help";
    help.className = "visually-hidden";
    help.textContent = labels.paragraph;
    layout.appendChild(help);
    prepareText();

    document.addEventListener("selectionchange", scheduleUpdate);
    document.addEventListener("mouseup", scheduleUpdate);
    document.addEventListener("touchend", scheduleUpdate);
    document.addEventListener("pointerdown", function (e) { lastPointer = e.pointerType; }, true);
    window.addEventListener("resize", function () { clearTimeout(alignCards._t); alignCards._t = setTimeout(alignCards, 200); });

    document.addEventListener("focusin", function (e) {
      var form = e.target.closest && e.target.closest("form[data-comment-form]");
      if (form) activeForm = form;
      var card = e.target.closest && e.target.closest(".comment-card[data-comment]");
      if (card) setActive(card.dataset.comment, true);
    });
    document.addEventListener("focusout", function (e) {
      var card = e.target.closest && e.target.closest(".comment-card[data-comment]");
      if (card && !card.contains(e.relatedTarget)) setActive(card.dataset.comment, false);
    });
    document.addEventListener("mouseover", function (e) {
      var card = e.target.closest(".comment-card[data-comment]");
      if (card && !card.contains(e.relatedTarget)) setActive(card.dataset.comment, true);
    });
    document.addEventListener("mouseout", function (e) {
      var card = e.target.closest(".comment-card[data-comment]");
      if (card && !card.contains(e.relatedTarget)) setActive(card.dataset.comment, false);
    });

    document.addEventListener("keydown", function (e) {
      var p = e.target;
      if (!(p instanceof HTMLElement) || !p.matches("#section-text p[data-offset]")) return;
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "Enter" || e.key === "c" || e.key === "C") {
        e.preventDefault();
        if (formFor()) openPicker(p);
      }
    });

    document.addEventListener("click", function (e) {
      var clear = e.target.closest("[data-anchor-clear]");
      if (clear) { clearAnchor(clear.closest("form")); return; }
      var goto = e.target.closest("[data-goto-anchor]");
      if (goto && goToMark(goto.dataset.gotoAnchor)) { e.preventDefault(); return; }
      var mark = e.target.closest("#section-text mark[data-comments]");
      // A click that ends a selection is not a click on the mark.
      var collapsed = window.getSelection().isCollapsed;
      if (mark && collapsed) goToCard(mark.dataset.comments.split(" ")[0]);
      if (picker && !picker.contains(e.target)) closePicker(false);
      // A tap on a paragraph (not on a highlighted passage, nor a link) opens its sentence picker:
      // a phone's long-press selection is slow and imprecise. A mouse click leaves selecting alone.
      var p = !mark && collapsed && isTap(e) && paragraphOf(e.target);
      if (p && !e.target.closest("a") && formFor()) openPicker(p, e.pageY);
    });

    document.addEventListener("change", function (e) {
      var box = e.target.closest("input[name='is_suggestion']");
      if (box && box.checked && box.form) startSuggestion(box.form);
    });

    // htmx: show refused writes (400, 409, 412, 429) in place like a success, then re-wire.
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      var status = e.detail.xhr.status;
      if ([400, 409, 412, 429].indexOf(status) !== -1) {
        e.detail.shouldSwap = true;
        e.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSettle", prepareText);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
