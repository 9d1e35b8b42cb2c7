// Rampart dashboard: the little the pages need beyond htmx. No inline script anywhere (the
// Content-Security-Policy forbids it); every page works without this file.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="id-of-input">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value || source.textContent;
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { source.select(); });
    } else {
      source.select();
    }
  });
  // Upload progress: the <progress> inside the form htmx is sending.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target;
    var bar = form && form.querySelector ? form.querySelector("progress") : null;
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  // After htmx replaced <main>, move focus there so screen readers announce the new page.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "main") {
      event.detail.target.focus({ preventScroll: true });
    }
  });
})();
