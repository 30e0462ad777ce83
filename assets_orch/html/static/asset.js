// Asset page: the "widen by one hop" toggle between the 1-hop and 2-hop pictures.
(function () {
  "use strict";
  var button = document.getElementById("widen");
  var near = document.getElementById("pic-near");
  var wide = document.getElementById("pic-wide");
  var note = document.getElementById("widen-note");
  if (!button || !near || !wide) { return; }
  button.addEventListener("click", function () {
    var widen = wide.hidden;
    wide.hidden = !widen;
    near.hidden = widen;
    button.setAttribute("aria-pressed", widen ? "true" : "false");
    button.textContent = widen ? "Narrow to one hop" : "Widen by one hop";
    if (note) { note.textContent = widen ? "Showing assets up to two hops away." : "Showing assets one hop away."; }
  });
})();
