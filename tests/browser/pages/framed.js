// External (same-origin) on purpose: the injected CSP blocks inline scripts, and this page
// must still announce itself when it is allowed to load, so only framing can silence it.
document.getElementById('s').textContent = 'framed-script-ran';
if (window.parent !== window) {
  window.parent.postMessage('framed-loaded', '*');
}
