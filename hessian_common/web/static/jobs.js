/* Hessian background-job progress: no libraries, no network beyond this app.
 *
 * Any element <div class="job" data-job="ID" data-done-url="/where/next"> (the macro
 * job_banner of web/_jobs.html renders one) has its progress bar and its one message line
 * updated by polling GET /_web/jobs/ID every second until the job ends; then the page goes
 * to data-done-url (or reloads) so server-rendered state is fresh. The line is the job's
 * own (Job.line), so the page and the script never show two different texts.
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
    msg.textContent = job.line;  /* the same line the page rendered (Job.line) */
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
