/* Sortable, searchable tables without dependencies. Numeric/date cells sort by data-value. */
(function () {
  "use strict";

  function cellKey(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return numeric ? -Infinity : ""; }
    var raw = cell.getAttribute("data-value");
    if (numeric) {
      if (raw === null || raw === "") { return -Infinity; }
      var number = parseFloat(raw);
      return isNaN(number) ? raw : number;
    }
    return (raw === null ? cell.textContent : raw).trim().toLowerCase();
  }

  function sortBy(table, header) {
    var index = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "num";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(header.parentNode.cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, index, numeric);
      var y = cellKey(b, index, numeric);
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
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
