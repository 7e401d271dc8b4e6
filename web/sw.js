// Bleep's service worker: keeps the app's own files (the "shell": the page,
// its scripts, the WebAssembly, the style sheet and the icon) so that Bleep
// starts on a ward PC or phone with no network, and starts fast on a repeat
// visit. scripts/offline-shell.mjs writes the built sw.js from this file: it
// fills in the list of files and a version made from their contents, so a
// new release is a new sw.js, which the browser finds and installs.
//
// What it never does: answer or keep a request for IMserver.php (messages
// always come from the server, or from the app's own saved transcript), or
// touch another origin. A new version waits until the page asks for it (the
// "new version" prompt): the page and its files always come from one release.

const VERSION = "__BLEEP_VERSION__";
const FILES = __BLEEP_FILES__;
const CACHE = `bleep-shell-${VERSION}`;

// Where the app lives (the folder sw.js was served from), and the page.
const scope = new URL(self.registration.scope);
const page = new URL("index.html", scope).href;

self.addEventListener("install", (event) => {
  // Every file fresh from the server (not from the HTTP cache), all or none.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(FILES.map((file) => new Request(new URL(file, scope), { cache: "reload" })))),
  );
});

self.addEventListener("activate", (event) => {
  // Earlier releases' files go; pages opened before a worker existed are
  // taken over, so the very first visit already works offline afterwards.
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("bleep-shell-") && key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

// The page's "Reload" on the new-version prompt.
self.addEventListener("message", (event) => {
  if (event.data === "bleep-activate-new-version") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const path = url.pathname.slice(scope.pathname.length);
  // The message server: always the network, never kept.
  if (path.split("/").pop() === "IMserver.php") return;
  // Opening Bleep (with or without ?me=&peer=): the kept page, whatever its
  // query; the network only if this release's page is not kept.
  const opening = request.mode === "navigate" && (path === "" || path === "index.html");
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(opening ? page : request, { ignoreSearch: opening }))
      .then((kept) => kept || fetch(request)),
  );
});
