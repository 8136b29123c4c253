// The "other site": frames ?target=URL (the page behind the proxy) and, as a control,
// framed.html from its own origin. Everything observed is appended to #log:
//   load:<id>                       the iframe element's load event (fires even for a refused frame)
//   message:<data>@<origin>         a postMessage received from a frame
(function () {
  var log = document.getElementById('log');
  function note(text) {
    var li = document.createElement('li');
    li.textContent = text;
    log.appendChild(li);
  }
  window.addEventListener('message', function (e) { note('message:' + e.data + '@' + e.origin); });
  function frame(id, src) {
    var f = document.createElement('iframe');
    f.id = id;
    f.addEventListener('load', function () { note('load:' + id); });
    f.src = src;
    document.getElementById('frames').appendChild(f);
  }
  var target = new URLSearchParams(location.search).get('target');
  frame('control', '/framed.html');
  if (target) { frame('target', target); }
})();
