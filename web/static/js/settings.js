// The settings pages: while an export runs, reload the page every two seconds to show its progress.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  if (document.getElementById("export-running")) {
    window.setTimeout(function () { window.location.replace(window.location.pathname); }, 2000);
  }
});
