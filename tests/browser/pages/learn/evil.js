document.getElementById("evil-js").textContent = "ran";
