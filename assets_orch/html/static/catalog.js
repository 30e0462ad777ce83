// Shared by every page: adds "(3h ago)" after absolute times. Text only, no HTML.
(function () {
  "use strict";
  function ago(ms) {
    var s = Math.round(ms / 1000);
    if (s < 0) { return "in " + ago(-ms).replace(/ ago$/, ""); }
    if (s < 60) { return s + "s ago"; }
    if (s < 3600) { return Math.round(s / 60) + "m ago"; }
    if (s < 172800) { return (s / 3600).toFixed(1) + "h ago"; }
    return Math.round(s / 86400) + "d ago";
  }
  window.assetsAgo = ago;
  var now = Date.now();
  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var t = Date.parse(times[i].getAttribute("datetime"));
    if (!isNaN(t)) {
      times[i].title = times[i].textContent;
      times[i].textContent = times[i].textContent + " (" + ago(now - t) + ")";
    }
  }
})();
