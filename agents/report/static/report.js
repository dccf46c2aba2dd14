// vlnsim report: table sorting and the episode browser's filters. No libraries.
(function () {
  "use strict";

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    if (!cell) return type === "num" ? -Infinity : "";
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (type === "num") {
      var x = parseFloat(v);
      return isNaN(x) ? -Infinity : x;
    }
    return String(v).toLowerCase();
  }

  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      th.addEventListener("click", function () {
        var type = th.getAttribute("data-type") || "text";
        var asc = !th.classList.contains("asc");
        Array.prototype.forEach.call(headers, function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, type), y = cellValue(b, index, type);
          if (x < y) return asc ? -1 : 1;
          if (x > y) return asc ? 1 : -1;
          return 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function setupFilters(form, table) {
    var params = new URLSearchParams(window.location.search);
    ["agent", "success", "house", "minlen", "maxlen"].forEach(function (name) {
      if (params.has(name) && form.elements[name]) form.elements[name].value = params.get(name);
    });
    var count = document.getElementById("count");
    function apply() {
      var agent = form.elements.agent.value, success = form.elements.success.value;
      var house = form.elements.house.value;
      var minlen = parseInt(form.elements.minlen.value, 10), maxlen = parseInt(form.elements.maxlen.value, 10);
      var rows = table.tBodies[0].rows, shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i], len = parseInt(r.getAttribute("data-len"), 10);
        var ok = (!agent || r.getAttribute("data-agent") === agent) &&
                 (!success || r.getAttribute("data-success") === success) &&
                 (!house || r.getAttribute("data-house") === house) &&
                 (isNaN(minlen) || len >= minlen) && (isNaN(maxlen) || len <= maxlen);
        r.style.display = ok ? "" : "none";
        if (ok) shown++;
      }
      if (count) count.textContent = shown + " of " + rows.length + " episodes shown";
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    apply();
  }

  // Self-check, read by the browser test: count images that failed to load.
  window.addEventListener("load", function () {
    var broken = Array.prototype.filter.call(document.images, function (img) {
      return !img.complete || img.naturalWidth === 0;
    });
    broken.forEach(function (img) { console.error("vlnsim report: image failed to load: " + img.getAttribute("src")); });
    document.body.setAttribute("data-broken-images", String(broken.length));
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    var form = document.getElementById("filters"), table = document.getElementById("episode-table");
    if (form && table) setupFilters(form, table);
  });
})();
