// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Copy a one-time secret: <button data-copy-target="id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      var status = document.getElementById(button.getAttribute("data-copy-status") || "");
      if (status) status.textContent = "Key copied to the clipboard.";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  // Forms marked data-confirm ask before they submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Close the user menu with Escape, returning focus to its toggle.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
