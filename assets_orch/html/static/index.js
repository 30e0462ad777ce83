// Index page: search (name, description, columns, tags, owner, kind, stale reasons,
// "partitioned")
// and filter the prebuilt index (search-index.js); render rows in pages of PAGE as
// the list scrolls. User text goes in with textContent only, never innerHTML.
(function () {
  "use strict";
  var PAGE = 100;
  var STATES = ["fresh", "stale", "missing", "failed"];
  var data = window.ASSETS_INDEX || { fields: [], rows: [] };
  var F = {};
  data.fields.forEach(function (name, i) { F[name] = i; });
  var rows = data.rows;
  // One lower-cased haystack per asset: name, description, columns, tags, owner, kind,
  // reasons, and "partitioned" for partitioned assets.
  var hay = rows.map(function (r) {
    return [r[F.name], r[F.desc], r[F.cols], r[F.tags].join(" "), r[F.owner], r[F.kind], r[F.why],
      r[F.parts] ? "partitioned" : ""].join("\n").toLowerCase();
  });
  var names = rows.map(function (r) { return r[F.name].toLowerCase(); });

  var q = document.getElementById("q");
  var stateSel = document.getElementById("state");
  var kindSel = document.getElementById("kind");
  var tagSel = document.getElementById("tag");
  var body = document.getElementById("rows");
  var count = document.getElementById("result-count");
  var more = document.getElementById("more");
  var matches = [];
  var shown = 0;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function when(epoch) {
    if (epoch === null) { return "never"; }
    return window.assetsAgo(Date.now() - epoch * 1000);
  }

  function rowFor(r) {
    var tr = document.createElement("tr");
    var name = el("td");
    var a = el("a", r[F.name]);
    a.href = r[F.href];
    name.appendChild(a);
    if (r[F.desc]) { name.appendChild(el("div", r[F.desc], "muted desc")); }
    tr.appendChild(name);
    tr.appendChild(el("td", r[F.kind]));
    var st = el("td");
    var badge = el("span", r[F.state], "badge state-" + r[F.state]);
    if (r[F.why]) { badge.title = r[F.why]; }
    st.appendChild(badge);
    if (r[F.parts]) { st.appendChild(partsFor(r[F.parts])); }
    tr.appendChild(st);
    var tags = el("td");
    r[F.tags].forEach(function (t) { tags.appendChild(el("span", t, "tag")); tags.appendChild(document.createTextNode(" ")); });
    tr.appendChild(tags);
    tr.appendChild(el("td", r[F.owner]));
    var last = el("td", when(r[F.last]), "nowrap");
    if (r[F.last] !== null) { last.title = new Date(r[F.last] * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC"; }
    tr.appendChild(last);
    tr.appendChild(el("td", r[F.rows] === null ? "-" : r[F.rows].toLocaleString("en-US"), "num"));
    return tr;
  }

  // "365 fresh · 1 stale" under the state of a partitioned asset.
  function partsFor(parts) {
    var box = el("div", null, "parts");
    var total = 0, words = [];
    STATES.forEach(function (s) {
      var n = parts[s] || 0;
      if (!n) { return; }
      total += n;
      if (words.length) { box.appendChild(document.createTextNode(" · ")); }
      box.appendChild(el("span", n.toLocaleString("en-US") + " " + s, "state-" + s));
      words.push(n.toLocaleString("en-US") + " " + s);
    });
    if (!total) { box.textContent = "no partitions yet"; }
    box.title = total.toLocaleString("en-US") + " partitions: " + (words.join(", ") || "none yet");
    return box;
  }

  function renderMore() {
    var frag = document.createDocumentFragment();
    var end = Math.min(shown + PAGE, matches.length);
    for (var i = shown; i < end; i++) { frag.appendChild(rowFor(rows[matches[i]])); }
    body.appendChild(frag);
    shown = end;
    more.hidden = shown >= matches.length;
    more.textContent = "Show more (" + (matches.length - shown).toLocaleString("en-US") + " left)";
  }

  function filter() {
    var terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var state = stateSel.value, kind = kindSel.value, tag = tagSel.value;
    var first = [], rest = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (state && r[F.state] !== state) { continue; }
      if (kind && r[F.kind] !== kind) { continue; }
      if (tag && r[F.tags].indexOf(tag) < 0) { continue; }
      var ok = true;
      for (var t = 0; t < terms.length; t++) {
        if (hay[i].indexOf(terms[t]) < 0) { ok = false; break; }
      }
      if (!ok) { continue; }
      // Names that contain the first term come first, in the index's order.
      if (terms.length && names[i].indexOf(terms[0]) >= 0) { first.push(i); } else { rest.push(i); }
    }
    matches = first.concat(rest);
    shown = 0;
    body.textContent = "";
    renderMore();
    count.textContent = matches.length.toLocaleString("en-US") + " of " +
      rows.length.toLocaleString("en-US") + " assets";
  }

  function saveHash() {
    var p = new URLSearchParams();
    if (q.value) { p.set("q", q.value); }
    if (stateSel.value) { p.set("state", stateSel.value); }
    if (kindSel.value) { p.set("kind", kindSel.value); }
    if (tagSel.value) { p.set("tag", tagSel.value); }
    var h = p.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }

  function setSelect(sel, value) {
    sel.value = value || "";
    if (sel.value !== (value || "")) { sel.value = ""; }
  }

  function loadHash() {
    var p = new URLSearchParams(location.hash.slice(1));
    q.value = p.get("q") || "";
    setSelect(stateSel, p.get("state"));
    setSelect(kindSel, p.get("kind"));
    setSelect(tagSel, p.get("tag"));
  }

  function changed() { filter(); saveHash(); }

  q.addEventListener("input", changed);
  [stateSel, kindSel, tagSel].forEach(function (s) { s.addEventListener("change", changed); });
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  window.addEventListener("hashchange", function () { loadHash(); filter(); });
  more.addEventListener("click", renderMore);
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries[0].isIntersecting && !more.hidden) { renderMore(); }
    }, { rootMargin: "400px" }).observe(more);
  }
  loadHash();
  filter();
  document.body.setAttribute("data-ready", "true");
  window.__catalogReady = performance.now();
})();
