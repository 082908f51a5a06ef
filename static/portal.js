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
// Portal: tell the search analytics which hit was opened (click-through). The link works
// without this; a keepalive request survives the navigation it precedes.
(function () {
  var list = document.querySelector('ol.hits[data-search-id]');
  if (!list || !window.fetch) return;
  list.addEventListener('click', function (e) {
    var a = e.target.closest('a[data-article-id]');
    if (!a) return;
    var body = JSON.stringify({ search_id: Number(list.dataset.searchId), article_id: a.dataset.articleId });
    fetch('/api/v1/search/clicks', {
      method: 'POST', keepalive: true, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: body
    }).catch(function () {});
  });
})();
