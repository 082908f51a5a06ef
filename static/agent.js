// Agent panel: search as you type, keyboard navigation, article view, copy script,
// feedback, and a banner when the open article is re-published (SSE).
(function () {
  var q = document.getElementById('agent-q');
  var list = document.getElementById('agent-results');
  var view = document.getElementById('agent-view');
  var empty = document.getElementById('agent-empty');
  var html = document.getElementById('agent-html');
  var banner = document.getElementById('new-version');
  var i18n = document.getElementById('i18n').dataset;
  var csrf = document.querySelector('meta[name=csrf-token]').content;
  var facetsBox = document.getElementById('agent-facets');
  var hits = [], facets = {}, active = -1, current = null, timer = null, seq = 0;
  // Search analytics: the panel searches on every pause in typing, but only a settled
  // search is recorded (submitted, idle for SETTLE_MS, or about to have a hit opened), once
  // per query and filters. `recorded` is the last recorded {key, id}.
  var SETTLE_MS = 1200, settleTimer = null, recorded = { key: null, id: null };
  // Facet filters: clicking a count narrows the search; clicking it again clears it.
  var filters = { type: null, category: null, locale: null };

  function renderFacets() {
    facetsBox.innerHTML = '';
    var any = false;
    ['type', 'category', 'locale'].forEach(function (group) {
      var values = (facets[group] || []).slice();
      var chosen = filters[group];
      if (chosen && !values.some(function (f) { return f.value === chosen; })) values.unshift({ value: chosen, count: 0 });
      if (!values.length) return;
      any = true;
      var row = document.createElement('div'); row.className = 'facet-group'; row.dataset.facet = group;
      var label = document.createElement('span'); label.className = 'facet-label';
      label.textContent = i18n['facet' + group.charAt(0).toUpperCase() + group.slice(1)] + ':';
      row.appendChild(label);
      values.slice(0, 8).forEach(function (f) {
        var b = document.createElement('button'); b.type = 'button'; b.className = 'facet';
        b.dataset.facet = group; b.dataset.value = f.value;
        b.setAttribute('aria-pressed', chosen === f.value ? 'true' : 'false');
        b.textContent = f.value + ' (' + f.count + ')';
        b.addEventListener('click', function () {
          filters[group] = filters[group] === f.value ? null : f.value;
          search(true); q.focus();
        });
        row.appendChild(b);
      });
      facetsBox.appendChild(row);
    });
    if (filters.type || filters.category || filters.locale) {
      var c = document.createElement('button'); c.type = 'button'; c.className = 'link facet-clear'; c.textContent = i18n.clearFilters;
      c.addEventListener('click', function () { clearFilters(); search(); q.focus(); });
      facetsBox.appendChild(c);
    }
    facetsBox.hidden = !any;
  }

  function clearFilters() { filters = { type: null, category: null, locale: null }; }

  function render() {
    list.innerHTML = '';
    if (!hits.length && q.value.trim()) {
      var li = document.createElement('li'); li.className = 'muted'; li.textContent = i18n.noResults; list.appendChild(li);
    }
    hits.forEach(function (h, i) {
      var li = document.createElement('li');
      li.id = 'hit-' + i; li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', i === active ? 'true' : 'false');
      var t = document.createElement('strong'); t.textContent = h.title; li.appendChild(t);
      if (h.internal) { var b = document.createElement('span'); b.className = 'badge internal'; b.textContent = i18n.internal; li.appendChild(b); }
      var s = document.createElement('span'); s.className = 'sum'; s.textContent = (h.category || '') + ' · ' + h.summary; li.appendChild(s);
      li.addEventListener('click', function () { active = i; openHit(h.id); render(); });
      list.appendChild(li);
    });
    q.setAttribute('aria-expanded', hits.length ? 'true' : 'false');
    if (active >= 0) q.setAttribute('aria-activedescendant', 'hit-' + active); else q.removeAttribute('aria-activedescendant');
  }

  function searchUrl() {
    var url = '/agent/search?q=' + encodeURIComponent(q.value.trim());
    Object.keys(filters).forEach(function (k) { if (filters[k]) url += '&' + k + '=' + encodeURIComponent(filters[k]); });
    return url;
  }

  // A recording request still on its way ({key, promise of the id}): a click while the
  // settle timer's request is in flight waits for it instead of recording the query twice.
  var recording = { key: null, promise: null };

  // Calls back with the analytics id of the current query, recording it first if needed.
  function recordSearch(cb) {
    var key = searchUrl();
    if (!q.value.trim()) return;
    if (recorded.key === key) { if (cb) cb(recorded.id); return; }
    if (recording.key !== key) {
      recording = {
        key: key,
        promise: fetch(key + '&record=1', { credentials: 'same-origin' })
          .then(function (r) { return r.json(); })
          .then(function (d) {
            if (d.search_id == null) throw new Error('not recorded');
            recorded = { key: key, id: d.search_id };
            return d.search_id;
          })
          .catch(function () {
            // Let a later click or pause try again.
            if (recording.key === key) recording = { key: null, promise: null };
            return null;
          })
      };
    }
    recording.promise.then(function (id) { if (id != null && cb) cb(id); });
  }

  function reportClick(articleId) {
    recordSearch(function (searchId) {
      fetch('/api/v1/search/clicks', {
        method: 'POST', credentials: 'same-origin', keepalive: true,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ search_id: searchId, article_id: articleId })
      }).catch(function () {});
    });
  }

  function search(record) {
    var text = q.value.trim(), mine = ++seq;
    clearTimeout(settleTimer);
    if (!text) { hits = []; facets = {}; active = -1; render(); renderFacets(); return; }
    var key = searchUrl(), url = key;
    if (record && recorded.key !== key && recording.key !== key) url += '&record=1';
    else if (!record) settleTimer = setTimeout(function () { recordSearch(null); }, SETTLE_MS);
    fetch(url, { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.search_id != null) recorded = { key: key, id: d.search_id };
        if (mine !== seq) return;
        hits = d.hits || []; facets = d.facets || {}; active = hits.length ? 0 : -1;
        render(); renderFacets();
      })
      .catch(function () {});
  }

  // A hit opened from the results: the article, and a click for the search analytics.
  function openHit(id) { open(id); reportClick(id); }

  function open(id) {
    fetch('/agent/article/' + encodeURIComponent(id), { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (a) {
        current = a; banner.hidden = true;
        html.innerHTML = a.html; // server-built, escaped / sanitised
        view.hidden = false; empty.hidden = true;
        document.getElementById('fb-status').textContent = '';
        document.getElementById('copy-status').textContent = '';
      });
  }

  q.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(function () { search(false); }, 150); });
  q.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowDown') { e.preventDefault(); if (hits.length) { active = (active + 1) % hits.length; render(); } }
    else if (e.key === 'ArrowUp') { e.preventDefault(); if (hits.length) { active = (active - 1 + hits.length) % hits.length; render(); } }
    else if (e.key === 'Enter') { e.preventDefault(); if (active >= 0 && hits[active]) openHit(hits[active].id); }
    else if (e.key === 'Escape') { clearTimeout(settleTimer); q.value = ''; hits = []; facets = {}; active = -1; clearFilters(); render(); renderFacets(); }
  });
  document.getElementById('agent-form').addEventListener('submit', function (e) { e.preventDefault(); search(true); });
  document.addEventListener('keydown', function (e) {
    if (e.key === '/' && document.activeElement !== q && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) { e.preventDefault(); q.focus(); q.select(); }
  });

  document.getElementById('copy-script').addEventListener('click', function () {
    if (!current) return;
    var done = function () { document.getElementById('copy-status').textContent = '✓ ' + i18n.copied; };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(current.script).then(done);
  });

  document.querySelectorAll('#agent-feedback button[data-kind]').forEach(function (b) {
    b.addEventListener('click', function () {
      if (!current) return;
      var comment = document.getElementById('fb-comment').value.trim();
      fetch('/api/v1/articles/' + encodeURIComponent(current.id) + '/feedback', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ kind: b.dataset.kind, channel: 'agent', comment: comment || null })
      }).then(function (r) {
        document.getElementById('fb-status').textContent = r.ok ? i18n.thanks : ('HTTP ' + r.status);
      });
    });
  });

  document.getElementById('reload-article').addEventListener('click', function () { if (current) open(current.id); });
  if (window.EventSource) {
    var es = new EventSource('/api/v1/events');
    var onPublish = function (ev) {
      try {
        var d = JSON.parse(ev.data);
        if (current && d.article_id === current.id && d.revision > current.revision) banner.hidden = false;
      } catch (e) {}
    };
    es.addEventListener('article.published', onPublish);
    es.addEventListener('article.rerendered', onPublish);
  }
  if (q.value) search(true);
})();
