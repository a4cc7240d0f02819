// Idle lock (SEC-07): after the configured minutes without keyboard or pointer activity the page
// goes to the lock screen, so an unattended screen shows no records. The server enforces the same
// limit on the next request; this only hides the page sooner.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var lockUrl = body.getAttribute("data-lock-url");
  if (!seconds || !lockUrl) { return; }
  var last = Date.now();
  ["keydown", "mousedown", "mousemove", "touchstart", "scroll"].forEach(function (name) {
    window.addEventListener(name, function () { last = Date.now(); }, { passive: true });
  });
  window.setInterval(function () {
    if (Date.now() - last >= seconds * 1000) {
      window.location.assign(lockUrl + "?next=" + encodeURIComponent(window.location.pathname + window.location.search));
    }
  }, 5000);
})();
