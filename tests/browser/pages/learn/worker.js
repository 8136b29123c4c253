postMessage("ok");
