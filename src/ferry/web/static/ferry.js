// ferry's web UI: small enhancements over pages that work without JavaScript.
// - TEST CONNECTION posts the form in the background and shows the result in its live region;
// - a provider with known endpoints (Alibaba Cloud CR's regions, Docker Hub) offers or fills them,
//   and only the chosen provider's settings are shown;
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
    showProviderSettings(select);
  }

  // The provider settings of every provider are in the page (a form without a script offers them
  // all); the script shows the chosen provider's only. Hidden fields are still sent: the server
  // reads only the chosen provider's.
  function showProviderSettings(select) {
    const form = select.form;
    let shown = false;
    form.querySelectorAll("[data-provider-section]").forEach(function (section) {
      section.hidden = section.dataset.providerSection !== select.value;
      shown = shown || !section.hidden;
    });
    form.querySelectorAll("[data-provider-settings]").forEach(function (fieldset) { fieldset.hidden = !shown; });
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
    document.querySelectorAll("[data-provider-select]").forEach(showProviderSettings);
  });
})();

// --- Webhooks: SEND TEST posts in the background and shows each target's result in the page's
// live region (#webhook-test-result); without a script the server sends the list back with them.
(function () {
  document.addEventListener("submit", async function (event) {
    const form = event.target;
    const region = document.getElementById("webhook-test-result");
    if (!form.matches("[data-webhook-test]") || !region || !window.fetch) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    region.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST", body: new FormData(form), headers: { "X-Ferry-Fragment": "1" },
      });
      // signed out, or the webhook was deleted meanwhile: the page itself says what happened
      if (!response.ok) { window.location.reload(); return; }
      region.innerHTML = await response.text();
    } catch (error) {
      region.textContent = String(error);
    } finally {
      button.disabled = false;
      region.removeAttribute("aria-busy");
    }
  });
})();

// --- Executions: an unfinished execution's page asks for its changing parts every second
// ([data-execution-live]: the fragment's [data-live-part]s replace the page's, STOP and RETRY
// included) and stops asking once the run is over; a task's log page appends
// the lines after its cursor ([data-log-follow]) and keeps the newest in view unless the reader
// scrolled up. Without a script both pages show what there was when they were loaded.
(function () {
  const FRAGMENT = { "X-Ferry-Fragment": "1" };

  function every(seconds, tick) {
    let busy = false;
    const timer = window.setInterval(async function () {
      if (document.hidden || busy) return;
      busy = true;
      try {
        if (await tick() === false) window.clearInterval(timer);
      } catch (error) {
        // the server is restarting or the network is down: try again at the next tick
      } finally {
        busy = false;
      }
    }, seconds * 1000);
  }

  function followExecution(root) {
    every(Number(root.dataset.executionLiveSeconds || "1"), async function () {
      const response = await fetch(root.dataset.executionLive, { headers: FRAGMENT });
      if (response.status === 401 || response.status === 404) return false;
      if (!response.ok) return true;
      const fresh = document.createElement("div");
      fresh.innerHTML = await response.text();
      fresh.querySelectorAll("[data-live-part]").forEach(function (part) {
        const shown = root.querySelector('[data-live-part="' + part.dataset.livePart + '"]');
        if (shown && shown.innerHTML !== part.innerHTML) shown.innerHTML = part.innerHTML;
      });
      const state = fresh.querySelector("[data-live-state]");
      return !state || state.dataset.final !== "true";
    });
  }

  function followLog(log) {
    let cursor = log.dataset.cursor || "0";
    const status = document.querySelector("[data-log-status]");
    log.scrollTop = log.scrollHeight;
    every(1, async function () {
      const response = await fetch(log.dataset.logFollow + "?after=" + encodeURIComponent(cursor), { headers: FRAGMENT });
      if (response.status === 401 || response.status === 404) return false;
      if (!response.ok) return true;
      const body = await response.json();
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
      body.lines.forEach(function (text) {
        const line = document.createElement("span");
        line.className = "log-line";
        line.textContent = text;
        log.appendChild(line);
      });
      if (body.lines.length) {
        document.querySelectorAll("[data-log-empty]").forEach(function (item) { item.hidden = true; });
        if (atBottom) log.scrollTop = log.scrollHeight;
      }
      cursor = String(body.cursor);
      const badge = status && status.querySelector(".badge");
      if (badge && badge.textContent !== body.status) {
        badge.textContent = body.status;
        badge.className = "badge badge-" + body.badge;
      }
      if (!body.final) return true;
      document.querySelectorAll("[data-log-following]").forEach(function (item) { item.hidden = true; });
      return false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch) return;
    document.querySelectorAll("[data-execution-live]").forEach(function (root) {
      if (root.dataset.final !== "true") followExecution(root);
    });
    document.querySelectorAll("[data-log-follow]").forEach(function (log) {
      if (log.dataset.final !== "true") followLog(log);
    });
  });
})();

// --- Replications: the executions table below the rules refreshes itself every few seconds while
// one of its rows runs ([data-live-executions] fetches its data-live-url, the table alone); the rule
// form keeps its registries in line with the replication mode, shows only the chosen trigger's
// fields, and asks the server for the next runs of the cron as it is typed (debounced).
(function () {
  const FRAGMENT = { "X-Ferry-Fragment": "1" };
  const LOCAL = "0";

  function followExecutions(region) {
    if (!region.querySelector("[data-running]")) return;
    const timer = window.setInterval(async function () {
      if (document.hidden) return;
      if (!region.querySelector("[data-running]")) { window.clearInterval(timer); return; }
      try {
        const response = await fetch(region.dataset.liveUrl, { headers: FRAGMENT });
        if (response.status === 401 || response.status === 404) { window.clearInterval(timer); return; }
        if (!response.ok) return;
        const html = await response.text();
        if (html !== region.dataset.shown) {
          region.dataset.shown = html;
          region.innerHTML = html;
          // the rules' "last run" badges follow the rows they show
          document.querySelectorAll("[data-last-status]").forEach(function (cell) {
            const badge = region.querySelector('tr[data-execution="' + cell.dataset.lastStatus + '"] .badge');
            if (badge) cell.innerHTML = badge.outerHTML;
          });
        }
      } catch (error) {
        // the server is restarting or the network is down: try again at the next tick
      }
    }, 3000);
  }

  function firstEndpoint(select, except) {
    const option = Array.from(select.options).find(function (item) {
      return item.value && item.value !== LOCAL && item.value !== except;
    });
    return option ? option.value : "";
  }

  function onModeChange(form, mode) {
    const source = form.querySelector("#src_registry");
    const destination = form.querySelector("#dest_registry");
    if (!source || !destination) return;
    const hasLocal = Array.from(source.options).some(function (item) { return item.value === LOCAL; });
    if (mode === "push" && hasLocal) {
      source.value = LOCAL;
      if (destination.value === LOCAL || !destination.value) destination.value = firstEndpoint(destination, "");
    } else if (mode === "pull" && hasLocal) {
      destination.value = LOCAL;
      if (source.value === LOCAL || !source.value) source.value = firstEndpoint(source, "");
    } else if (mode === "remote") {
      if (source.value === LOCAL || !source.value) source.value = firstEndpoint(source, destination.value);
      if (destination.value === LOCAL || !destination.value || destination.value === source.value) {
        destination.value = firstEndpoint(destination, source.value);
      }
    }
  }

  function showTrigger(form) {
    const select = form.querySelector("[data-trigger-select]");
    if (!select) return;
    form.querySelectorAll("[data-trigger-section]").forEach(function (section) {
      section.hidden = section.dataset.triggerSection !== select.value;
    });
  }

  let cronTimer = null;
  function previewCron(form) {
    const cron = form.querySelector("#cron");
    const zone = form.querySelector("#timezone");
    const region = form.querySelector("#cron-preview");
    if (!cron || !region || !window.fetch) return;
    window.clearTimeout(cronTimer);
    cronTimer = window.setTimeout(async function () {
      const query = new URLSearchParams({ cron: cron.value, timezone: zone ? zone.value : "" });
      try {
        const response = await fetch(cron.dataset.previewUrl + "?" + query.toString(), { headers: FRAGMENT });
        if (response.ok) region.innerHTML = await response.text();
      } catch (error) {
        // keep what is shown; SAVE checks the cron anyway
      }
    }, 400);
  }

  document.addEventListener("change", function (event) {
    const form = event.target.closest("[data-rule-form]");
    if (!form) return;
    if (event.target.matches("[data-rule-mode]")) onModeChange(form, event.target.value);
    if (event.target.matches("[data-trigger-select]")) showTrigger(form);
  });

  document.addEventListener("input", function (event) {
    const form = event.target.closest("[data-rule-form]");
    if (form && event.target.matches("[data-cron-input]")) previewCron(form);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-rule-form]").forEach(function (form) {
      showTrigger(form);
      if (window.fetch) form.querySelectorAll("[data-cron-button]").forEach(function (button) { button.hidden = true; });
    });
    if (!window.fetch) return;
    document.querySelectorAll("[data-live-executions]").forEach(followExecutions);
  });
})();
