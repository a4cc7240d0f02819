// Follow a background job: refresh its progress bar until it is done or failed.
(function () {
  var box = document.getElementById("job");
  if (!box) { return; }
  function poll() {
    fetch(box.dataset.progressUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (job) {
      document.getElementById("job-progress").value = job.done;
      document.getElementById("job-done").textContent = job.done;
      document.getElementById("job-status").textContent = job.status;
      if (job.status === "done") { document.getElementById("job-result").hidden = false; return; }
      if (job.status === "failed") { var e = document.getElementById("job-error"); e.textContent = job.error; e.hidden = false; return; }
      setTimeout(poll, 1000);
    });
  }
  poll();
})();
