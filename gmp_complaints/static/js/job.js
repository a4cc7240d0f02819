// Follow a background job: refresh its progress bar until it is done or failed.
(function () {
  var box = document.getElementById("job");
  if (!box) { return; }
  var labels = JSON.parse(box.dataset.statusLabels || "{}");
  function poll() {
    fetch(box.dataset.progressUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (job) {
      document.getElementById("job-progress").value = job.done;
      document.getElementById("job-done").textContent = job.done;
      var status = document.getElementById("job-status");
      status.textContent = labels[job.status] || job.status;  // the words of the page's language
      status.dataset.status = job.status;
      if (job.status === "done") { document.getElementById("job-result").hidden = false; return; }
      if (job.status === "failed") { var e = document.getElementById("job-error"); e.textContent = job.error; e.hidden = false; return; }
      setTimeout(poll, 1000);
    });
  }
  poll();
})();
