// Tells the clinician when the app itself has stopped, instead of leaving a
// screen that looks alive but no longer sends, polls or alerts.
//
// The release build aborts on a panic (scripts/build): the WebAssembly
// executes a trap, which reaches the page as an uncaught
// `WebAssembly.RuntimeError` from whatever callback was running (an event
// handler, a timer, a fetch's answer), and the app's state is not to be
// trusted after it. A module that does not compile or link (a download cut
// short) rejects the start-up script with a `CompileError` or `LinkError`.
// Either way this script, which runs before the app, puts a notice with a
// Reload button over the page (`data-testid="app-stopped"`). Messages not
// yet sent are saved in the browser before every request (PROTOCOL.md,
// "Local state") and go out after the reload.
//
// Other uncaught errors (a browser extension's, say) are left alone: they do
// not stop the app.
(function () {
  if (typeof WebAssembly !== "object") return;
  var shown = false;
  var show = function (error) {
    if (shown || !error) return;
    var stopped = error instanceof WebAssembly.RuntimeError;
    var unstarted = error instanceof WebAssembly.CompileError || error instanceof WebAssembly.LinkError;
    if (!stopped && !unstarted) return;
    shown = true;
    var notice = document.createElement("div");
    notice.className = "app-stopped";
    notice.setAttribute("role", "alert");
    notice.setAttribute("data-testid", "app-stopped");
    var title = document.createElement("strong");
    title.textContent = stopped
      ? "Bleep stopped because of an error in the app."
      : "Bleep could not start: the app did not download completely.";
    var text = document.createElement("p");
    text.textContent = stopped
      ? "Reload the page to go on. Messages not sent yet are kept in this browser and go out after the reload."
      : "Reload the page to try again.";
    var reload = document.createElement("button");
    reload.type = "button";
    reload.className = "primary";
    reload.setAttribute("data-testid", "app-stopped-reload");
    reload.textContent = "Reload";
    reload.addEventListener("click", function () {
      location.reload();
    });
    notice.appendChild(title);
    notice.appendChild(text);
    notice.appendChild(reload);
    document.body.appendChild(notice);
    reload.focus();
  };
  window.addEventListener("error", function (event) {
    show(event.error);
  });
  window.addEventListener("unhandledrejection", function (event) {
    show(event.reason);
  });
})();
