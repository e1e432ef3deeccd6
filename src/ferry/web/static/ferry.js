// ferry's web UI: small enhancements over pages that work without JavaScript.
// - TEST CONNECTION posts the form in the background and shows the result in its live region;
// - a provider with known endpoints (Alibaba Cloud CR's regions, Docker Hub) offers or fills them;
// - DELETE asks first (without a script the server shows a confirmation page);
// - [data-refresh-url] regions reload themselves every few seconds while the tab is visible.
"use strict";

(function () {
  const FRAGMENT = { "X-Ferry-Fragment": "1" };

  function onProviderChange(select) {
    const option = select.selectedOptions[0];
    const form = select.form;
    const url = form.querySelector("#url");
    if (!option || !url) return;
    const list = option.dataset.endpoints;
    if (list) url.setAttribute("list", list); else url.removeAttribute("list");
    const fixed = option.dataset.fixedUrl;
    if (fixed && (!url.value || url.dataset.filled === "yes")) {
      url.value = fixed;
      url.dataset.filled = "yes";
    } else if (!fixed && url.dataset.filled === "yes") {
      url.value = "";
      url.dataset.filled = "";
    }
    form.querySelectorAll("[data-provider-hint]").forEach(function (hint) {
      const kind = hint.dataset.providerHint;
      hint.hidden = kind === "*" ? select.value === "ali-acr" : kind !== select.value;
    });
  }

  async function testConnection(form, button) {
    const region = form.querySelector("#ping-result");
    const body = new FormData(form);
    body.set("action", "test");
    button.disabled = true;
    region.setAttribute("aria-busy", "true");
    region.textContent = button.dataset.testingText || "…";
    try {
      // form.action would be the button named "action", not the attribute
      const response = await fetch(form.getAttribute("action"), { method: "POST", body: body, headers: FRAGMENT });
      if (response.status === 401) { window.location.reload(); return; }
      region.innerHTML = await response.text();
    } catch (error) {
      region.textContent = String(error);
    } finally {
      button.disabled = false;
      region.removeAttribute("aria-busy");
    }
  }

  function refreshEvery(element) {
    const seconds = Number(element.dataset.refreshSeconds || "5");
    const timer = window.setInterval(async function () {
      if (document.hidden) return;
      try {
        const response = await fetch(element.dataset.refreshUrl, { headers: FRAGMENT });
        if (response.status === 401) { window.clearInterval(timer); return; }
        if (response.ok) element.innerHTML = await response.text();
      } catch (error) {
        // the server is restarting or the network is down: try again at the next tick
      }
    }, seconds * 1000);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-provider-select]")) onProviderChange(event.target);
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-test-connection]");
    if (!button || !button.form || !window.fetch) return;
    event.preventDefault();
    testConnection(button.form, button);
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    const confirmed = document.createElement("input");
    confirmed.type = "hidden";
    confirmed.name = "confirm";
    confirmed.value = "yes";
    form.appendChild(confirmed);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh-url]").forEach(refreshEvery);
  });
})();
