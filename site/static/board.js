/* fleetboard page script: local times, the age clock, the stale banner, and a reload when
   latest.json has a newer pass. No dependencies; the page reads fine without it. */
(function () {
  "use strict";

  var body = document.body;
  var generatedIso = body.getAttribute("data-generated-at") || "";
  var generated = Date.parse(generatedIso);
  /* The schedule period comes from the snapshot (collector.period_s): no default here. */
  var period = Number(body.getAttribute("data-period-s"));
  /* How often the browser asks for latest.json: its own pace, not the schedule's. */
  var POLL_MS = 60 * 1000;
  var ageEl = document.getElementById("age");
  var banner = document.getElementById("stale");

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  var zoneFormat = null;
  try {
    zoneFormat = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" });
  } catch (e) {
    zoneFormat = null;
  }

  function zoneName(date) {
    if (zoneFormat && zoneFormat.formatToParts) {
      var parts = zoneFormat.formatToParts(date);
      for (var i = 0; i < parts.length; i++) {
        if (parts[i].type === "timeZoneName") return parts[i].value;
      }
    }
    var off = -date.getTimezoneOffset();
    var abs = Math.abs(off);
    return "UTC" + (off < 0 ? "-" : "+") + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  /* Every <time datetime="...Z"> shows the viewer's clock; its title keeps the UTC value. */
  function localTimes() {
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var iso = el.getAttribute("datetime");
      var d = new Date(iso);
      if (isNaN(d.getTime())) continue;
      if (!el.title) el.title = el.textContent;
      el.textContent =
        d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes()) + " " + zoneName(d);
    }
  }

  function ago(s) {
    if (s < 90) return Math.max(0, Math.round(s)) + " s ago";
    if (s < 90 * 60) return Math.round(s / 60) + " min ago";
    var h = Math.floor(s / 3600);
    if (h < 48) return h + " h " + Math.floor((s - h * 3600) / 60) + " min ago";
    return Math.floor(h / 24) + " days ago";
  }

  /* The age clock, and the banner once the board is older than 2 (amber) or 5 (red)
     schedule periods by this browser's clock. */
  function tick() {
    if (isNaN(generated)) return;
    var age = (Date.now() - generated) / 1000;
    if (ageEl) {
      ageEl.textContent = "· " + ago(age);
      ageEl.hidden = false;
    }
    if (!banner || !(period > 0)) return;
    var level = age > 5 * period ? "red" : age > 2 * period ? "amber" : "";
    if (!level) {
      banner.hidden = true;
      return;
    }
    var text = "Board is stale: last pass " + ago(age) + ", expected every " + period + " s.";
    if (level === "red") text += " The collector may have stopped; check its alarm and logs.";
    banner.className = "banner " + level;
    banner.textContent = text;
    banner.hidden = false;
  }

  /* Reload when the collector has published a newer pass. Quiet when latest.json cannot be
     read (file://, 404, offline): the stale banner already tells the viewer. */
  function poll() {
    if (document.hidden || !window.fetch || location.protocol === "file:") return;
    fetch("latest.json", { cache: "no-store" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (doc) {
        if (doc && typeof doc.generated_at === "string" && doc.generated_at !== generatedIso) {
          location.reload();
        }
      })
      .catch(function () {});
  }

  localTimes();
  tick();
  setInterval(tick, 1000);
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      tick();
      poll();
    }
  });
})();
