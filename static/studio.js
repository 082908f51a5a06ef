// Studio enhancements: "listen" buttons speak the IVR text with the article's language.
(function () {
  // The button stays hidden where the browser cannot speak.
  var synth = ('speechSynthesis' in window) && typeof window.SpeechSynthesisUtterance === 'function' ? window.speechSynthesis : null;
  function voiceFor(lang) {
    var want = (lang || '').toLowerCase(), base = want.split('-')[0];
    var voices = synth.getVoices() || [], exact = null, close = null;
    voices.forEach(function (v) {
      var l = (v.lang || '').replace('_', '-').toLowerCase();
      if (!exact && l === want) exact = v;
      if (!close && l.split('-')[0] === base) close = v;
    });
    return exact || close;
  }
  document.querySelectorAll('button.listen').forEach(function (b) {
    if (!synth) { b.hidden = true; return; }
    b.hidden = false;
    b.addEventListener('click', function () {
      synth.cancel();
      var u = new SpeechSynthesisUtterance(b.dataset.speak || '');
      u.lang = b.dataset.lang || document.documentElement.lang;
      var v = voiceFor(u.lang);
      if (v) u.voice = v;
      synth.speak(u);
    });
  });
  // A reject needs a comment: say so before the round trip.
  document.querySelectorAll('button.act-reject').forEach(function (b) {
    b.addEventListener('click', function (e) {
      var c = document.getElementById('comment');
      if (c && !c.value.trim()) { e.preventDefault(); c.setAttribute('required', ''); c.reportValidity(); c.focus(); }
    });
  });
})();
