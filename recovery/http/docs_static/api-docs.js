// The API docs pages (/docs, /redoc): start Swagger UI from its configuration (a data
// attribute, so the page needs no inline script), and give a name to the few controls
// Swagger UI and ReDoc render without one (example pickers, the request body box, copy
// buttons) and the role ReDoc leaves off its side menu's sub-lists, as they appear.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  if (root && window.SwaggerUIBundle) {
    var config = JSON.parse(root.getAttribute("data-config"));
    config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
    window.ui = SwaggerUIBundle(config);
  }

  // what a control is for: Swagger UI's example picker has its words beside it
  // ("Examples: "), its request body box has none; ReDoc's example picker has none
  function nameOf(control) {
    if (control.tagName === "TEXTAREA") return "Request body";
    var box = control.closest(".examples-select");
    var shown = box && box.querySelector(".examples-select__section-label");
    var words = shown ? shown.textContent.replace(/[:\s]+$/, "").trim() : "";
    return words || "Example";
  }

  function label(scope) {
    var unnamed = scope.querySelectorAll(
      "select:not([aria-label]):not([aria-labelledby]), " +
      "textarea:not([aria-label]):not([aria-labelledby])");
    for (var i = 0; i < unnamed.length; i++) {
      var control = unnamed[i];
      if (control.labels && control.labels.length) continue;
      if (control.getAttribute("title")) continue;
      control.setAttribute("aria-label", nameOf(control));
    }
    var copy = scope.querySelectorAll(".copy-to-clipboard > button:not([aria-label])");
    for (var j = 0; j < copy.length; j++) {
      if (!copy[j].textContent.trim()) copy[j].setAttribute("aria-label", "Copy to clipboard");
    }
    // ReDoc: a tag's operations are menu items in a plain list; the list is their menu
    var lists = scope.querySelectorAll('li[role="menuitem"] > ul:not([role])');
    for (var k = 0; k < lists.length; k++) lists[k].setAttribute("role", "menu");
  }

  new MutationObserver(function () { label(document.body); })
    .observe(document.body, { childList: true, subtree: true });
  label(document.body);
})();
