// Portal: search suggestions while typing (the form works without this).
(function () {
  var q = document.getElementById('portal-q'), dl = document.getElementById('portal-suggest'), timer = null;
  if (!q || !dl) return;
  q.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = q.value.trim();
      if (!text) { dl.innerHTML = ''; return; }
      fetch('/search/suggest?q=' + encodeURIComponent(text)).then(function (r) { return r.json(); }).then(function (d) {
        dl.innerHTML = '';
        (d.suggestions || []).forEach(function (s) { var o = document.createElement('option'); o.value = s.title; dl.appendChild(o); });
      }).catch(function () {});
    }, 150);
  });
})();
