// Studio enhancements: "listen" buttons speak the IVR text with the article's language.
(function () {
  document.querySelectorAll('button.listen').forEach(function (b) {
    if (!('speechSynthesis' in window)) { b.disabled = true; return; }
    b.addEventListener('click', function () {
      window.speechSynthesis.cancel();
      var u = new SpeechSynthesisUtterance(b.dataset.speak || '');
      u.lang = b.dataset.lang || document.documentElement.lang;
      window.speechSynthesis.speak(u);
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
