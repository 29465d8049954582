// recovery web page: light progressive enhancement. Every page works without it.
// - deadline countdowns (<time class="due" datetime="...">) tick every 30 seconds
// - the auditor's slider shows the event it points at, and moves there when released
// - "Copy" buttons copy a status link
// - keyboard shortcuts: ? lists them, / searches, n opens a new incident, b the board
// - a refused form gets the focus, so keyboard users land where the problem is
// - live pages (<main data-live="/live...">): on a change event the page is fetched again
//   and each changed [data-live-region] swapped in, except one holding a form being typed in
(function () {
  "use strict";

  // the countdown's words in the page's language (<html data-countdown>, "%(m)s min", ...)
  var WORDS = (function () {
    try { return JSON.parse(document.documentElement.getAttribute("data-countdown") || ""); }
    catch (e) { return null; }
  })() || {
    under_minute: "less than a minute", min: "%(m)s min", h: "%(h)s h",
    h_min: "%(h)s h %(m)s min", d: "%(d)s d", d_h: "%(d)s d %(h)s h",
    late: "%(amount)s overdue", "in": "in %(amount)s"
  };
  function say(key, values) {
    return WORDS[key].replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  }

  function amount(seconds) {
    if (seconds < 60) return WORDS.under_minute;
    if (seconds < 3600) return say("min", { m: Math.floor(seconds / 60) });
    if (seconds < 86400) {
      var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60);
      return m ? say("h_min", { h: h, m: m }) : say("h", { h: h });
    }
    var d = Math.floor(seconds / 86400), hours = Math.floor((seconds % 86400) / 3600);
    return hours ? say("d_h", { d: d, h: hours }) : say("d", { d: d });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.due[data-live]").forEach(function (el) {
      // the server writes microseconds; Date.parse is only sure to read milliseconds
      var due = Date.parse(el.getAttribute("datetime").replace(/(\.\d{3})\d+/, "$1"));
      if (isNaN(due)) return;
      var seconds = (due - now) / 1000;
      var late = seconds < 0;
      el.textContent = say(late ? "late" : "in", { amount: amount(late ? -seconds : seconds) });
      el.classList.toggle("overdue", late);
      var holder = el.closest("[data-overdue-holder]");
      if (holder) holder.classList.toggle("overdue", late);
    });
  }

  function slider() {
    var range = document.getElementById("seq");
    var label = document.getElementById("seq-label");
    if (!range || !label) return;
    var events = JSON.parse(range.getAttribute("data-events") || "[]");
    function show() {
      var e = events[Number(range.value) - 1];
      // the words come from the page, in its language: {n} {last} {title} {at}
      var words = label.getAttribute("data-words") || "event {n} of {last}: {title} ({at})";
      if (e) label.textContent = words.replace("{n}", range.value).replace("{last}", events.length)
        .replace("{title}", e.title).replace("{at}", e.at);
    }
    // Arrow keys only move the slider (and its label): a keyboard user steps through
    // events without a reload taking the focus away; Enter or releasing the mouse shows one.
    var byKeyboard = false;
    function go() {
      var form = range.form;
      if (!form) return;
      var at = form.querySelector("input[name=at]");
      if (at) at.value = "";
      form.action = form.action.split("#")[0] + "#seq";  // the focus comes back here
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
    range.addEventListener("input", show);
    range.addEventListener("keydown", function (e) {
      byKeyboard = true;
      if (e.key === "Enter") { e.preventDefault(); go(); }
    });
    range.addEventListener("pointerdown", function () { byKeyboard = false; });
    range.addEventListener("change", function () { if (!byKeyboard) go(); });
    if (location.hash === "#seq") range.focus();
    show();
  }

  // Keyboard shortcuts, listed in the page's "Keyboard shortcuts" box (? opens it).
  function shortcuts() {
    var box = document.getElementById("shortcuts");
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      if (e.key === "?" && box) {
        box.open = !box.open;
        if (box.open) box.querySelector("summary").focus();
      } else if (e.key === "/") {
        var search = document.getElementById("header-q");
        if (search) { e.preventDefault(); search.focus(); }
      } else if (e.key === "n" || e.key === "b") {
        var link = document.querySelector(e.key === "n" ? "a[data-key=n]" : "a[data-key=b]");
        if (link) { e.preventDefault(); link.click(); }
      } else {
        return;
      }
    });
  }

  function copyButtons() {
    document.querySelectorAll("button[data-copy]:not([data-wired])").forEach(function (button) {
      button.setAttribute("data-wired", "");
      button.hidden = false;
      button.addEventListener("click", function () {
        var input = document.getElementById(button.getAttribute("data-copy"));
        if (!input) return;
        input.select();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  function focusProblem() {
    var invalid = document.querySelector("[aria-invalid=true]");
    var problem = document.querySelector(".problem[tabindex]");
    var target = invalid || problem;
    if (target) {
      target.focus();
      if (target.scrollIntoView) target.scrollIntoView({ block: "center" });
    }
  }


  // A form the user typed into, or whose field has the focus, is theirs: never replaced.
  document.addEventListener("input", function (e) {
    var form = e.target && e.target.form;
    if (form) form.setAttribute("data-dirty", "");
  });
  document.addEventListener("submit", function (e) {
    if (e.target && e.target.removeAttribute) e.target.removeAttribute("data-dirty");
  });

  function busy(el) {
    var active = document.activeElement;
    if (active && active !== document.body && el.contains(active) &&
        /^(INPUT|TEXTAREA|SELECT|BUTTON|SUMMARY)$/.test(active.tagName)) return true;
    if (el.querySelector("form[data-dirty]") || (el.matches && el.matches("form[data-dirty]"))) return true;
    return !!el.querySelector("details[open]");
  }

  function swap(old, fresh) {
    if (old.isEqualNode(fresh)) return;
    if (!busy(old)) {
      old.replaceWith(document.importNode(fresh, true));
      return;
    }
    // busy: swap its inner regions that are not (the one being typed in stays as it is)
    fresh.querySelectorAll("[data-live-region][id]").forEach(function (inner) {
      if (inner.parentElement.closest("[data-live-region]") !== fresh) return; // its children only
      var mine = document.getElementById(inner.id);
      if (mine && old.contains(mine)) swap(mine, inner);
    });
  }

  function refresh(onlyHeader) {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var regions = doc.querySelectorAll(onlyHeader ? "header [data-live-region][id]" : "[data-live-region][id]");
        regions.forEach(function (fresh) {
          if (fresh.parentElement && fresh.parentElement.closest("[data-live-region][id]")) return; // outermost only
          var old = document.getElementById(fresh.id);
          if (old) swap(old, fresh);
        });
        tick();
        copyButtons();
        document.documentElement.setAttribute("data-live-at", String(Date.now()));
      })
      .catch(function () { /* the next change tries again */ });
  }

  function livePage() {
    var main = document.getElementById("main");
    var url = main && main.getAttribute("data-live");
    if (!url || !window.EventSource || !window.fetch) return;
    var pending = null, running = false, again = false, headerOnly = true;
    function schedule(header) {
      headerOnly = headerOnly && header;
      if (pending) return;
      pending = setTimeout(function run() {
        pending = null;
        if (running) { again = true; return; }
        running = true;
        var only = headerOnly;
        headerOnly = true;
        refresh(only).then(function () {
          running = false;
          if (again) { again = false; schedule(false); }
        });
      }, 50);
    }
    var source = new EventSource(url);
    source.addEventListener("change", function () { schedule(false); });
    source.addEventListener("header", function () { schedule(true); });
    source.addEventListener("open", function () { document.documentElement.setAttribute("data-live", "on"); });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
    slider();
    shortcuts();
    copyButtons();
    focusProblem();
    livePage();
  });
})();
