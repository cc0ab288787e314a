// The problem list: trees and rejected rows, narrowed by the filter buttons and the search box.
const FILTERS = [
  ["all", "all"],
  ["journey", "has journey"],
  ["nocorrect", "no correct leaf"],
  ["partial", "partial / failed"],
  ["rejected", "rejected"],
];
const items = DATA.problems.map((p) => ({ key: "p:" + p.problem.id, tree: p }))
  .concat(DATA.rejects.map((r, i) => ({ key: "r:" + i, reject: r })));
const byKey = new Map(items.map((it) => [it.key, it]));

function matches(it) {
  const f = state.filter;
  if (it.reject) {
    if (f !== "all" && f !== "rejected") return false;
    const hay = (String(it.reject.raw || "") + " " + String(it.reject.error || "")).toLowerCase();
    return hay.includes(state.query);
  }
  const t = it.tree;
  if (f === "rejected") return false;
  if (f === "journey" && !t.walks.some((w) => w.kind === "journey")) return false;
  if (f === "nocorrect" && t.has_correct_leaf) return false;
  if (f === "partial" && t.status === "complete") return false;
  const hay = (t.problem.id + " " + t.problem.question).toLowerCase();
  return hay.includes(state.query);
}

function renderFilters() {
  const box = clear($("filters"));
  for (const [id, name] of FILTERS) {
    const saved = state.filter;
    state.filter = id;
    const count = items.filter((it) => (id === "all" ? true : matches(it))).length;
    state.filter = saved;
    const button = h("button", { type: "button", "aria-pressed": state.filter === id, "data-filter": id },
      [name + " (" + count + ")"]);
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
  const t = it.tree;
  const badges = [h("span", { class: "badge " + t.status }, [t.status]),
    h("span", { class: "badge" }, [t.stats.nodes + " nodes"]),
    h("span", { class: "badge correct" }, ["✓ " + t.stats.correct_leaves]),
    h("span", { class: "badge incorrect" }, ["✗ " + t.stats.incorrect_leaves])];
  for (const w of t.walks) badges.push(h("span", { class: "badge" }, [w.kind]));
  return [h("div", { class: "pid" }, [t.problem.id]), h("div", { class: "q" }, [t.problem.question]),
    h("div", { class: "badges" }, badges)];
}

function renderList() {
  const list = clear($("problem-list"));
  for (const it of items) {
    if (!matches(it)) continue;
    const li = h("li", { "data-key": it.key, "aria-selected": it.key === state.key }, listEntry(it));
    li.addEventListener("click", () => select(it.key));
    list.appendChild(li);
  }
  if (!list.firstChild) list.appendChild(h("li", { class: "empty" }, ["Nothing matches."]));
}
