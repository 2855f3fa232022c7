// The console's only script, served by the gateway (the CSP allows no inline script).
// On the crisis desk: polls the queue, announces new referrals (visible and audible),
// and counts down each referral's acknowledgement deadline.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + " h " : "") + pad(m) + " min " + pad(r) + " s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = duration((now - Date.parse(el.dataset.since)) / 1000);
    });
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = (Date.parse(el.dataset.deadline) - now) / 1000;
      if (left > 0) {
        el.textContent = duration(left);
        el.classList.remove("overdue");
      } else {
        el.textContent = "overdue by " + duration(-left);
        el.classList.add("overdue");
      }
    });
  }

  function chime() {
    var audio = document.getElementById("chime");
    if (audio) {
      audio.currentTime = 0;
      var played = audio.play();
      if (played && played.catch) { played.catch(function () { beep(); }); }
      document.body.dataset.chimes = String(Number(document.body.dataset.chimes || "0") + 1);
      return;
    }
    beep();
  }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = new Ctx();
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.4);
      document.body.dataset.chimes = String(Number(document.body.dataset.chimes || "0") + 1);
    } catch (e) { /* sound is a courtesy; the banner is the cue */ }
  }

  function ids(container) {
    var seen = {};
    container.querySelectorAll("[data-referral]").forEach(function (row) {
      seen[row.dataset.referral] = row;
    });
    return seen;
  }

  function poll(container) {
    var known = ids(container);
    var url = container.dataset.poll;
    var every = Number(container.dataset.every || "2") * 1000;
    var banner = document.getElementById("arrivals");
    function once() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected || response.status === 401 || response.status === 303) {
            window.location.assign("/console/login?next=" + encodeURIComponent(location.pathname));
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) { return; }
          container.innerHTML = html;
          var now = ids(container), fresh = [];
          Object.keys(now).forEach(function (id) {
            if (!known[id]) { fresh.push(now[id]); now[id].classList.add("new"); }
          });
          var empty = document.getElementById("queue-empty");
          if (empty) { empty.hidden = Object.keys(now).length > 0; }
          if (fresh.length && banner) {
            var names = fresh.map(function (row) { return row.dataset.name; }).join(", ");
            banner.textContent = "New crisis referral" + (fresh.length > 1 ? "s" : "") + ": " + names;
            document.title = "(" + fresh.length + " new) " + document.title.replace(/^\(\d+ new\) /, "");
            chime();
          }
          known = now;
          tick();
        })
        .catch(function () { /* the next poll tries again */ });
    }
    window.setInterval(once, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    var queue = document.querySelector("[data-poll]");
    if (queue) { poll(queue); }
    document.querySelectorAll("form[data-confirm-field]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var field = form.querySelector("[name='" + form.dataset.confirmField + "']");
        if (field && field.value.trim() !== form.dataset.confirmValue) {
          event.preventDefault();
          field.setAttribute("aria-invalid", "true");
          field.focus();
        }
      });
    });
  });
})();
