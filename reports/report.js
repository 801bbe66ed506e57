/* Sortable, searchable tables without dependencies.
   A header's data-type says how its column sorts: "num" by the number in each cell's data-value,
   "date" by the ISO date (YYYY-MM-DD) in data-value, compared as text (ISO dates sort
   chronologically that way; parseFloat would keep only the year), "text" by the cell text.
   Empty cells (no number, no date) sort last in both directions. */
(function () {
  "use strict";

  var MISSING = null;

  function cellKey(row, index, type) {
    var cell = row.cells[index];
    if (!cell) { return MISSING; }
    var raw = cell.getAttribute("data-value");
    if (type === "num") {
      var number = raw === null || raw === "" ? NaN : parseFloat(raw);
      return isNaN(number) ? MISSING : number;
    }
    if (type === "date") {
      return raw === null || raw === "" ? MISSING : raw;
    }
    return (raw === null ? cell.textContent : raw).trim().toLowerCase();
  }

  function compareKeys(x, y, ascending) {
    if (x === MISSING || y === MISSING) {
      return x === y ? 0 : (x === MISSING ? 1 : -1);
    }
    var order = x < y ? -1 : (x > y ? 1 : 0);
    return ascending ? order : -order;
  }

  function sortBy(table, header) {
    var index = header.cellIndex;
    var type = header.getAttribute("data-type");
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(header.parentNode.cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      return compareKeys(cellKey(a, index, type), cellKey(b, index, type), ascending);
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  }

  function makeSortable(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
      header.addEventListener("click", function () { sortBy(table, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, header); }
      });
    });
  }

  function showCount(tableId, visible, total) {
    var counter = document.querySelector('[data-count-for="' + tableId + '"]');
    if (counter) { counter.textContent = visible + " of " + total + " rows"; }
  }

  function bindSearch(input) {
    var tableId = input.getAttribute("data-table");
    var table = document.getElementById(tableId);
    if (!table || !table.tBodies.length) { return; }
    var rows = table.tBodies[0].rows;
    showCount(tableId, rows.length, rows.length);
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var visible = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var match = needle === "" || row.textContent.toLowerCase().indexOf(needle) !== -1;
        row.hidden = !match;
        if (match) { visible += 1; }
      });
      showCount(tableId, visible, rows.length);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  Array.prototype.forEach.call(document.querySelectorAll("input.table-search"), bindSearch);
})();
