/* fleetboard page script: local times, the age clock, the stale banner, a reload when
   version.json names a newer pass, and the recent changes since the viewer's last visit marked.
   No dependencies; the page reads fine without it. */
(function () {
  "use strict";

  var body = document.body;
  var generatedIso = body.getAttribute("data-generated-at") || "";
  var generated = Date.parse(generatedIso);
  /* The schedule period comes from the snapshot (collector.period_s): no default here. */
  var period = Number(body.getAttribute("data-period-s"));
  /* How often the browser asks for version.json: its own pace, not the schedule's. */
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

  /* Since your last visit. This browser keeps (localStorage, per fleet) the newest pass it
     has shown; on the next visit, each line of recent changes newer than that gets the word
     "new", and the heading their count. A visit starts when the viewer opens or reloads the
     page; the reloads this script makes for a newer pass carry the visit's starting point
     over (sessionStorage), so the marks stay while the viewer reads, and a change that comes
     in meanwhile is marked too. First visit, or no storage (blocked, cleared): no marks. */
  /* Only the board has a fleet to remember visits of: a look at history.html (no
     data-fleet) is not a visit, so it neither marks nor moves "since your last visit". */
  var fleet = body.getAttribute("data-fleet") || "";
  var SEEN_KEY = "fleetboard:seen:" + fleet;
  var VISIT_KEY = "fleetboard:visit:" + fleet;

  function storage(name) {
    try {
      var s = window[name];
      return s && typeof s.getItem === "function" ? s : null;
    } catch (e) {
      return null; /* blocked by the browser's settings: a SecurityError */
    }
  }

  function load(s, key) {
    try {
      return s ? s.getItem(key) : null;
    } catch (e) {
      return null;
    }
  }

  function save(s, key, value) {
    try {
      if (s) {
        if (value === null) s.removeItem(key);
        else s.setItem(key, value);
      }
    } catch (e) {
      /* full or blocked: the marks are a convenience */
    }
  }

  var local = storage("localStorage");
  var session = storage("sessionStorage");
  var carried = load(session, VISIT_KEY);
  save(session, VISIT_KEY, null);
  var visitFrom = carried !== null ? carried : load(local, SEEN_KEY);

  function markNew() {
    if (!fleet) return;
    var since = Date.parse(visitFrom || "");
    if (isNaN(since)) return;
    var lines = document.querySelectorAll(".changes li[data-t]");
    var count = 0;
    for (var i = 0; i < lines.length; i++) {
      var li = lines[i];
      if (!(Number(li.getAttribute("data-t")) * 1000 > since)) continue;
      count++;
      li.classList.add("new");
      var badge = document.createElement("span");
      badge.className = "badge new";
      badge.textContent = "new";
      var text = li.lastElementChild || li;
      text.insertBefore(document.createTextNode(" "), text.firstChild);
      text.insertBefore(badge, text.firstChild);
    }
    var heading = document.getElementById("recent-h");
    if (!count || !heading) return;
    var total = document.createElement("span");
    total.className = "badge new";
    total.id = "recent-new";
    total.textContent = count + " new since your last visit";
    heading.appendChild(total);
  }

  /* The newest pass this browser has shown: never one loaded unseen in a background tab,
     never moved back by an older page. */
  function remember() {
    if (!fleet || document.hidden || isNaN(generated)) return;
    var before = Date.parse(load(local, SEEN_KEY) || "");
    if (!(before >= generated)) save(local, SEEN_KEY, generatedIso);
  }

  /* Reload when the collector has published a newer pass: version.json says which pass is
     published in a few bytes (latest.json is megabytes on a large fleet). Quiet when it
     cannot be read (file://, 404, offline): the stale banner already tells the viewer. */
  function poll() {
    if (document.hidden || !window.fetch || location.protocol === "file:") return;
    fetch("version.json", { cache: "no-store" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (doc) {
        if (doc && typeof doc.generated_at === "string" && doc.generated_at !== generatedIso) {
          if (fleet) save(session, VISIT_KEY, visitFrom || generatedIso);
          location.reload();
        }
      })
      .catch(function () {});
  }

  localTimes();
  markNew();
  remember();
  tick();
  setInterval(tick, 1000);
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      remember();
      tick();
      poll();
    }
  });
})();
