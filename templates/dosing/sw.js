// ACTEMRA dosing service worker. Served by dosing.views.service_worker; its cache name changes
// with the static files and the content version, so either makes browsers install a new worker.
"use strict";

const CONFIG = {{ config|safe }};
const PAGE_TIMEOUT_MS = 4000; // a ward's weak signal: fall back to the saved page after this

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CONFIG.cache)
      .then((cache) => cache.addAll(CONFIG.precache.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CONFIG.cache).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === CONFIG.rules) {
    event.respondWith(revalidateRules());
  } else if (url.pathname.startsWith(CONFIG.static)) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate" || CONFIG.pages.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url));
  }
});

// Hashed names never change content: the saved copy is the file.
async function cacheFirst(request) {
  const cache = await caches.open(CONFIG.cache);
  const saved = await cache.match(request);
  if (saved) return saved;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}

// Pages: the network's copy when it answers in time, else the saved one, else the offline page.
async function networkFirst(request, url) {
  const cache = await caches.open(CONFIG.cache);
  const network = fetch(request).then((response) => {
    if (response.ok && CONFIG.pages.includes(url.pathname) && !url.search) {
      cache.put(url.pathname, response.clone());
    }
    return response;
  });
  network.catch(() => {}); // awaited below, or abandoned once the saved copy has answered
  const timeout = new Promise((resolve) => setTimeout(resolve, PAGE_TIMEOUT_MS));
  try {
    const response = await Promise.race([network, timeout]);
    if (response) return response;
  } catch {
    // offline: fall through to the saved copy
  }
  const saved = await cache.match(url.pathname, { ignoreVary: true });
  if (saved) return saved;
  if (request.mode === "navigate") {
    const offline = await cache.match(CONFIG.offline, { ignoreVary: true });
    if (offline) return offline;
  }
  return network;
}

// The rules snapshot: always asked again with its ETag (304 keeps the saved copy), the saved copy
// when there is no network. One snapshot is one content version, so a result never mixes two.
async function revalidateRules() {
  const cache = await caches.open(CONFIG.cache);
  const saved = await cache.match(CONFIG.rules);
  const headers = new Headers({ Accept: "application/json" });
  const etag = saved && saved.headers.get("ETag");
  if (etag) headers.set("If-None-Match", etag);
  try {
    const response = await fetch(CONFIG.rules, { headers, cache: "no-store" });
    if (response.status === 304 && saved) return saved;
    if (response.ok) await cache.put(CONFIG.rules, response.clone());
    return response;
  } catch (error) {
    if (saved) return saved;
    throw error;
  }
}
