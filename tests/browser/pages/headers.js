// What this page's own response looks like to scripts: re-fetch it (same origin, so every
// response header but Set-Cookie is readable) and read the cookies scripts can see.
(function () {
  function put(id, text) { document.getElementById(id).textContent = text; }
  fetch(location.href, { cache: 'no-store', credentials: 'same-origin' })
    .then(function (r) {
      put('xpb', String(r.headers.get('x-powered-by')));
      put('marker', String(r.headers.get('x-test-marker')));
      put('cookie', 'cookie=' + document.cookie);
      put('status', 'done');
    })
    .catch(function (e) { put('status', 'error: ' + e); });
})();
