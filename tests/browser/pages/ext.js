// A same-origin script: allowed by the injected CSP ('self'). It runs after the inline
// script above it, so once it has run the inline script has either run or been blocked.
document.getElementById('ext').textContent = 'external-ran';
