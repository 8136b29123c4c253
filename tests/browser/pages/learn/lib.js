document.getElementById("cdn-js").textContent = "ok";
