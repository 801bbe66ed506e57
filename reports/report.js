/* Sortable, searchable, filterable tables without dependencies, each downloadable as CSV.
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

  /* Table tools, generic over every table.data with a body: a search box (any cell text, e.g. a
     SKU), one drop-down filter per row attribute that can hide something (data-supplier,
     data-category, data-abc, data-risk: shown when the rows carry at least two different values,
     a row without the attribute counting as "–"), a row count and "Download CSV" of the rows
     left visible. A template's own search box (input.table-search[data-table=id]) is reused. */
  var FACETS = [
    { attr: "supplier", label: "All suppliers" },
    { attr: "category", label: "All categories" },
    { attr: "abc", label: "All ABC classes" },
    { attr: "risk", label: "All risk statuses" }
  ];
  var NONE = "\u2013";
  var FORMULA_START = /^[=+\-@\t\r]/;

  function facetValue(row, attr) {
    var value = row.getAttribute("data-" + attr);
    return value === null || value === "" ? NONE : value;
  }

  function optionText(rows, attr, value) {
    if (attr !== "supplier" || value === NONE) { return value; }
    for (var i = 0; i < rows.length; i += 1) {
      if (rows[i].getAttribute("data-supplier") === value) {
        var name = rows[i].getAttribute("data-supplier-name");
        return name && name !== value ? name + " (" + value + ")" : value;
      }
    }
    return value;
  }

  function buildSelect(rows, facet) {
    var seen = {};
    var values = [];
    var carried = false;
    Array.prototype.forEach.call(rows, function (row) {
      var value = facetValue(row, facet.attr);
      if (value !== NONE) { carried = true; }
      if (!Object.prototype.hasOwnProperty.call(seen, value)) { seen[value] = true; values.push(value); }
    });
    if (!carried || values.length < 2) { return null; }
    values.sort(function (a, b) { return a === NONE ? 1 : (b === NONE ? -1 : a.localeCompare(b)); });
    var select = document.createElement("select");
    select.className = "table-filter";
    select.setAttribute("data-facet", facet.attr);
    select.setAttribute("aria-label", facet.label);
    var all = document.createElement("option");
    all.value = "";
    all.textContent = facet.label;
    select.appendChild(all);
    values.forEach(function (value) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = optionText(rows, facet.attr, value);
      select.appendChild(option);
    });
    return select;
  }

  function headerLabel(cell) {
    var text = "";
    Array.prototype.forEach.call(cell.childNodes, function (node) {
      if (!(node.nodeType === 1 && node.classList.contains("th-note"))) { text += node.textContent; }
    });
    var note = cell.querySelector(".th-note");
    text = text.replace(/\s+/g, " ").trim();
    return note ? text + " (" + note.textContent.replace(/\s+/g, " ").trim() + ")" : text;
  }

  /* One CSV field (RFC 4180): quoted when it holds a comma, quote, line break or edge space, quotes
     doubled; text a spreadsheet would run as a formula gets a leading ' (as the order files do). */
  function csvField(text, numeric) {
    if (!numeric && FORMULA_START.test(text)) { text = "'" + text; }
    return /[",\r\n]|^\s|\s$/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  /* Numbers and dates as their raw data-value (no thousands separators; rates as fractions),
     other cells as their text; only rows left visible by the search and filters. */
  function tableCsv(table) {
    var headers = table.tHead.rows[0].cells;
    var types = Array.prototype.map.call(headers, function (cell) { return cell.getAttribute("data-type"); });
    var lines = [Array.prototype.map.call(headers, function (cell) { return csvField(headerLabel(cell), false); }).join(",")];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      if (row.hidden) { return; }
      lines.push(Array.prototype.map.call(row.cells, function (cell, index) {
        var raw = cell.getAttribute("data-value");
        var numeric = (types[index] === "num" || types[index] === "date") && raw !== null;
        return csvField(numeric ? raw : cell.textContent.replace(/\s+/g, " ").trim(), numeric);
      }).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  function csvName(table, index) {
    var asOf = document.getElementById("as-of");
    var report = (document.title.split("\u00b7")[0] || "report").trim().toLowerCase().replace(/[^a-z0-9]+/g, "-");
    return [report, table.id || "table-" + (index + 1), asOf ? asOf.textContent.trim() : ""]
      .filter(Boolean).join("_").replace(/[^A-Za-z0-9._-]+/g, "-") + ".csv";
  }

  function download(name, text) {
    var blob = new Blob(["\ufeff" + text], { type: "text/csv;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
  }

  function tableTools(table) {
    var input = table.id ? document.querySelector('input.table-search[data-table="' + table.id + '"]') : null;
    if (input) { return input.parentNode; }
    var tools = document.createElement("div");
    tools.className = "table-tools";
    input = document.createElement("input");
    input.type = "search";
    input.className = "table-search";
    input.placeholder = "Search this table (SKU, supplier, text)\u2026";
    input.setAttribute("aria-label", input.placeholder);
    if (table.id) { input.setAttribute("data-table", table.id); }
    tools.appendChild(input);
    var wrap = table.parentNode.classList.contains("table-wrap") ? table.parentNode : table;
    wrap.parentNode.insertBefore(tools, wrap);
    return tools;
  }

  function bindTools(table, index) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var rows = table.tBodies[0].rows;
    var tools = tableTools(table);
    var input = tools.querySelector("input.table-search");
    var counter = tools.querySelector(".table-count");
    if (!counter) {
      counter = document.createElement("span");
      counter.className = "table-count";
      tools.appendChild(counter);
    }
    var selects = [];
    FACETS.forEach(function (facet) {
      var select = buildSelect(rows, facet);
      if (select) { selects.push(select); tools.insertBefore(select, counter); }
    });
    var button = document.createElement("button");
    button.type = "button";
    button.className = "csv-download";
    button.textContent = "Download CSV";
    button.title = "The rows shown, as a CSV file";
    tools.appendChild(button);

    function apply() {
      var needle = input.value.trim().toLowerCase();
      var visible = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var match = needle === "" || row.textContent.toLowerCase().indexOf(needle) !== -1;
        selects.forEach(function (select) {
          if (match && select.value !== "" && facetValue(row, select.getAttribute("data-facet")) !== select.value) {
            match = false;
          }
        });
        row.hidden = !match;
        if (match) { visible += 1; }
      });
      counter.textContent = visible + " of " + rows.length + " rows";
    }
    input.addEventListener("input", apply);
    selects.forEach(function (select) { select.addEventListener("change", apply); });
    button.addEventListener("click", function () { download(csvName(table, index), tableCsv(table)); });
    table.resetFilters = function () {
      input.value = "";
      selects.forEach(function (select) { select.value = ""; });
      apply();
    };
    apply();
  }

  /* A link to a row (e.g. a buyer's order line to planner.html#plan-…) shows it even when a
     filter had hidden it, centred in its scrolling table. */
  function revealTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (!target || target.tagName !== "TR") { return; }
    var table = target.closest("table");
    if (target.hidden && table && table.resetFilters) { table.resetFilters(); }
    target.scrollIntoView({ block: "center" });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  Array.prototype.forEach.call(document.querySelectorAll("table.data"), bindTools);
  window.addEventListener("hashchange", revealTarget);
  window.addEventListener("load", function () { setTimeout(revealTarget, 0); });  /* after the browser's own jump */
  revealTarget();
})();
