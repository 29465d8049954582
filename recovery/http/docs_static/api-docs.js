// The API docs pages (/docs, /redoc): start Swagger UI from its configuration (a data
// attribute, so the page needs no inline script), and give a name to the few controls
// Swagger UI and ReDoc render without one (example pickers, the request body box, the
// copy and close buttons) and the role ReDoc leaves off the lists of its menu items, as
// they appear.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  if (root && window.SwaggerUIBundle) {
    var config = JSON.parse(root.getAttribute("data-config"));
    config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
    window.ui = SwaggerUIBundle(config);
  }

  // what a field is for: Swagger UI's example picker has its words beside it
  // ("Examples: "); its request body box and parameter boxes have a row that says;
  // ReDoc's example picker has nothing
  function fieldName(field) {
    if (field.classList.contains("body-param__text")) return "Request body";
    var row = field.closest("tr[data-param-name]");
    if (row) return row.getAttribute("data-param-name");
    var box = field.closest(".examples-select");
    var shown = box && box.querySelector(".examples-select__section-label");
    var words = shown ? shown.textContent.replace(/[:\s]+$/, "").trim() : "";
    return words || "Example";
  }

  // buttons that show only a picture
  var BUTTONS = [
    [".copy-to-clipboard > button", "Copy to clipboard"],
    [".close-modal", "Close"]
  ];

  function label(scope) {
    var fields = scope.querySelectorAll(
      "select:not([aria-label]):not([aria-labelledby]), " +
      "textarea:not([aria-label]):not([aria-labelledby])");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if ((field.labels && field.labels.length) || field.getAttribute("title")) continue;
      field.setAttribute("aria-label", fieldName(field));
    }
    BUTTONS.forEach(function (entry) {
      var buttons = scope.querySelectorAll(entry[0] + ":not([aria-label])");
      for (var j = 0; j < buttons.length; j++) {
        if (!buttons[j].textContent.trim()) buttons[j].setAttribute("aria-label", entry[1]);
      }
    });
    // ReDoc: a tag's operations and the search results are menu items in a plain list;
    // the list is their menu
    var items = scope.querySelectorAll('[role="menuitem"]');
    for (var k = 0; k < items.length; k++) {
      var list = items[k].parentElement;
      if (list && !list.hasAttribute("role")) list.setAttribute("role", "menu");
    }
  }

  new MutationObserver(function () { label(document.body); })
    .observe(document.body, { childList: true, subtree: true });
  label(document.body);
})();
