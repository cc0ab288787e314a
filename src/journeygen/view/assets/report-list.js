// The problem list: every problem of the index and every rejected row, narrowed by the filter
// buttons and the search box (which read the index only, so they cover the whole run before
// any tree is loaded). Only the rows in view are in the page: each has the same height, the
// list is as tall as all of them, and scrolling draws the rows it brings into view.
const FILTERS = [
  ["all", "all"],
  ["journey", "has journey"],
  ["nocorrect", "no correct leaf"],
  ["partial", "partial / failed"],
  ["rejected", "rejected"],
];
// a run with critique or dialogue episodes can be narrowed to the trees that have one
if (INDEX.rows.some((r) => r.walks.includes("episode"))) FILTERS.splice(2, 0, ["episode", "has episode"]);
const ROW_H = 76, ROWS_AROUND = 6; // px per row; rows drawn above and below the view
const items = INDEX.rows.map((r) => ({ key: "p:" + r.id, row: r, hay: (r.id + " " + r.q).toLowerCase() }))
  .concat(INDEX.rejects.map((r, i) => ({ key: "r:" + i, reject: r,
    hay: (String(r.raw || "") + " " + String(r.error || "")).toLowerCase() })));
const byKey = new Map(items.map((it) => [it.key, it]));
let shown = []; // the items that match, in order
const count = (n) => n.toLocaleString("en-US");

function passes(it, f) {
  if (it.reject) return f === "all" || f === "rejected";
  const r = it.row;
  if (f === "rejected") return false;
  if (f === "journey" || f === "episode") return r.walks.includes(f);
  if (f === "nocorrect") return !r.leaf;
  if (f === "partial") return r.status !== "complete";
  return true;
}
const matches = (it) => passes(it, state.filter) && it.hay.includes(state.query);

function renderFilters() {
  const box = clear($("filters"));
  for (const [id, name] of FILTERS) {
    const n = id === "all" ? items.length : items.filter((it) => passes(it, id) && it.hay.includes(state.query)).length;
    const button = h("button", { type: "button", "aria-pressed": state.filter === id, "data-filter": id, "data-count": n },
      [name + " (" + n + ")"]);
    button.addEventListener("click", () => { state.filter = id; renderFilters(); renderList(); });
    box.appendChild(button);
  }
}

function listEntry(it) {
  if (it.reject) {
    const r = it.reject;
    return [h("div", { class: "pid" }, [String(r.file || "") + ":" + String(r.line || "?")]),
      h("div", { class: "q" }, [String(r.error || "")]),
      h("div", { class: "badges" }, [h("span", { class: "badge rejected" }, ["rejected"])])];
  }
  const r = it.row;
  const badges = [h("span", { class: "badge " + r.status }, [r.status]),
    h("span", { class: "badge" }, [r.nodes + " nodes"]),
    h("span", { class: "badge correct" }, ["✓ " + r.ok]),
    h("span", { class: "badge incorrect" }, ["✗ " + r.wrong])];
  for (const kind of r.walks) badges.push(h("span", { class: "badge" }, [kind]));
  return [h("div", { class: "pid" }, [r.id]), h("div", { class: "q" }, [r.q + (r.cut ? "…" : "")]),
    h("div", { class: "badges" }, badges)];
}

// The matching items again (after a filter, search or selection), the selected one in view.
function renderList() {
  shown = items.filter(matches);
  const total = INDEX.rows.length + INDEX.rejects.length;
  $("list-count").textContent = shown.length === total ? count(total) + " problems and rejected rows" :
    count(shown.length) + " of " + count(total) + " match";
  $("list-count").setAttribute("data-shown", shown.length);
  $("problem-list").style.height = Math.max(1, shown.length) * ROW_H + "px";
  const at = shown.findIndex((it) => it.key === state.key);
  const scroller = $("problem-scroll");
  if (at < 0) scroller.scrollTop = 0;
  else if (at * ROW_H < scroller.scrollTop || (at + 1) * ROW_H > scroller.scrollTop + scroller.clientHeight) {
    scroller.scrollTop = Math.max(0, at * ROW_H - scroller.clientHeight / 2);
  }
  paintRows();
}

// The rows in view (and a few around them) as list items, each at its place.
function paintRows() {
  const list = clear($("problem-list")), scroller = $("problem-scroll");
  if (!shown.length) { list.appendChild(h("li", { class: "empty" }, ["Nothing matches."])); return; }
  const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - ROWS_AROUND);
  const last = Math.min(shown.length, Math.ceil((scroller.scrollTop + (scroller.clientHeight || 800)) / ROW_H) + ROWS_AROUND);
  for (let i = first; i < last; i += 1) {
    const it = shown[i];
    const li = h("li", { "data-key": it.key, "aria-selected": it.key === state.key, "aria-posinset": i + 1,
      "aria-setsize": shown.length }, listEntry(it));
    li.style.top = i * ROW_H + "px";
    li.style.height = ROW_H + "px";
    li.addEventListener("click", () => select(it.key));
    list.appendChild(li);
  }
}

function watchList() {
  let pending = false; // one repaint per frame while the list scrolls
  $("problem-scroll").addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paintRows(); });
  });
  $("search").addEventListener("input", (ev) => { state.query = ev.target.value.trim().toLowerCase(); renderFilters(); renderList(); });
}
