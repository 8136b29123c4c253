document.getElementById("site-js").textContent = "ok";
fetch("{scheme}://api.test:{port}/data").then(function (r) { return r.json(); })
  .then(function (d) { document.getElementById("api").textContent = d.answer; });
var worker = new Worker("/worker.js");
worker.onmessage = function (e) { document.getElementById("worker").textContent = e.data; };
