// Installs Bleep's service worker (sw.js, beside the page) and tells the app
// when a new release is ready: the app shows "A new version of Bleep is
// ready" with a Reload button (src/app/update_prompt.rs).
//
// Between this script and the app, two events on window:
// - "bleep-update-ready": a new release is installed and waiting
//   (window.bleepUpdateReady is then true, for an app that starts later);
// - "bleep-update-apply": the app's Reload button; the waiting release takes
//   over, and the page reloads once it has.
(function () {
  if (!("serviceWorker" in navigator)) return;
  var container = navigator.serviceWorker;
  var registration = null;
  var waiting = null;
  var announce = function (worker) {
    // A first install (no worker controlled this page) is no new version.
    if (!container.controller) return;
    waiting = worker;
    window.bleepUpdateReady = true;
    window.dispatchEvent(new Event("bleep-update-ready"));
  };
  container
    .register("./sw.js", { scope: "./" })
    .then(function (found) {
      registration = found;
      if (registration.waiting) announce(registration.waiting);
      registration.addEventListener("updatefound", function () {
        var worker = registration.installing;
        if (!worker) return;
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed") announce(worker);
        });
      });
      // A ward PC may keep Bleep open for days: look for a release hourly.
      setInterval(function () {
        registration.update().catch(function () {});
      }, 3600000);
    })
    .catch(function (error) {
      console.warn("Bleep cannot work offline in this browser:", error);
    });
  window.addEventListener("bleep-update-apply", function () {
    // The release waiting now: a later update check may have replaced the
    // one announced, which then never takes over.
    var worker = (registration && registration.waiting) || waiting;
    if (worker) worker.postMessage("bleep-activate-new-version");
  });
  container.addEventListener("controllerchange", function () {
    if (waiting) location.reload();
  });
})();
