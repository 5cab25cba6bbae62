// Shared by every page: the CSRF header for fetch() calls that change something.
"use strict";

window.btms = window.btms || {};

btms.csrfToken = function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
};

// fetch() with the session's CSRF token on every request that changes something.
btms.send = function (url, method, body) {
  return fetch(url, {
    method: method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": btms.csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
};
