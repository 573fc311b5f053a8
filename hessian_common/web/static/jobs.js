/* Hessian background-job progress: no libraries, no network beyond this app.
 *
 * Any element <div class="job" data-job="ID" data-done-url="/where/next"> is filled with a
 * progress bar and message by polling GET /_web/jobs/ID every second until the job ends;
 * then the page goes to data-done-url (or reloads) so server-rendered state is fresh.
 */
(function () {
  "use strict";
  function render(el, job) {
    var bar = el.querySelector("progress");
    var msg = el.querySelector(".job-message");
    if (!bar) {
      bar = document.createElement("progress");
      bar.max = 1;
      el.appendChild(bar);
    }
    if (!msg) {
      msg = document.createElement("span");
      msg.className = "job-message";
      el.appendChild(msg);
    }
    if (job.fraction === null) { bar.removeAttribute("value"); } else { bar.value = job.fraction; }
    var count = job.total ? " (" + job.done + "/" + job.total + ")" : "";
    var text = job.name + ": " + job.state + count;
    if (job.message) { text += " — " + job.message; }
    if (job.error) { text += " — " + job.error; }
    msg.textContent = text;
    el.className = "job job-" + job.state;
  }
  function poll(el) {
    var id = el.getAttribute("data-job");
    fetch("/_web/jobs/" + encodeURIComponent(id), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        if (job.error && !job.state) { el.textContent = job.error; return; }
        render(el, job);
        if (job.active) {
          setTimeout(function () { poll(el); }, 1000);
        } else if (job.state === "done") {
          var next = el.getAttribute("data-done-url");
          setTimeout(function () { if (next) { window.location = next; } else { window.location.reload(); } }, 600);
        }
      })
      .catch(function () { setTimeout(function () { poll(el); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var els = document.querySelectorAll("[data-job]");
    for (var i = 0; i < els.length; i++) { poll(els[i]); }
  });
})();
