// Choosing a problem (its chunk loads first when it is not in yet), deep links
// (#p=<problem id>&w=<walk index|none>&n=<node id>, #r=<row>; followed when the hash changes
// too), refitting the tree when the window changes, and the start of the page.
// The body records data-index-ms (navigation to the list drawn), data-open-ms (the last
// problem chosen to its tree drawn) and data-ready (the first problem shown).
let opening = 0; // the latest choice: a chunk that arrives after another choice is not drawn

// A rejected row, or a problem as the index knows it (while its tree loads, or when it can't),
// with `note` where the step details go.
function showBare(it, note) {
  if (it.reject) renderHead(it);
  else {
    const r = it.row;
    clear($("problem-head")).append(h("h2", {}, [r.id + " ", h("span", { class: "badge " + r.status }, [r.status])]),
      h("div", { class: "question", "data-field": "problem-question" }, [r.q + (r.cut ? "…" : "")]),
      h("div", { class: "meta" }, [r.nodes + " nodes · ✓ leaves " + r.ok + " · ✗ leaves " + r.wrong]));
  }
  clear($("walk-bar")); clearTree(); clear($("walk-detail"));
  clear($("node-detail")).appendChild(note);
}

async function select(key, walk, node) {
  const it = byKey.get(key);
  if (!it) return;
  const ticket = ++opening;
  const began = performance.now();
  state.key = key;
  state.tree = null;
  state.collapsed = new Set();
  renderList();
  if (it.reject) {
    showBare(it, h("div", { class: "empty" }, ["This row was rejected before search: no tree."]));
    writeHash();
    return;
  }
  showBare(it, h("div", { class: "empty", "data-field": "loading" }, ["Loading this tree…"]));
  let t;
  try {
    t = await loadTree(it.row);
  } catch (err) {
    if (ticket !== opening) return;
    showBare(it, h("div", { class: "note cut", "data-field": "load-error" }, [String(err.message)]));
    writeHash();
    return;
  }
  if (ticket !== opening) return;
  state.tree = t;
  renderHead({ tree: t });
  state.node = node && (node === ROOT || t.nodes.some((n) => n.id === node)) ? node : ROOT;
  const chosen = walk === "none" ? null : walk !== undefined && walk !== null && t.walks[Number(walk)] ? Number(walk) : (t.walks.length ? 0 : null);
  chooseWalk(t, chosen);
  document.body.setAttribute("data-open-ms", (performance.now() - began).toFixed(1));
}

function writeHash() {
  const it = byKey.get(state.key);
  if (!it) return;
  const params = new URLSearchParams();
  if (it.row) {
    params.set("p", it.row.id);
    if (state.tree) {
      params.set("w", state.walk === null ? "none" : String(state.walk));
      if (state.node !== ROOT) params.set("n", state.node);
    }
  } else params.set("r", it.key.slice(2));
  try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { /* some file:// contexts refuse */ }
}

// Open the problem, walk and step the hash names (null when it names nothing we have).
function followHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.has("p") ? "p:" + params.get("p") : params.has("r") ? "r:" + params.get("r") : null;
  return key && byKey.has(key) ? select(key, params.get("w"), params.get("n")) : null;
}

function start() {
  $("run-title").textContent = "journeygen · " + INDEX.run;
  const journeys = INDEX.rows.filter((r) => r.walks.includes("journey")).length;
  const shortcuts = INDEX.rows.filter((r) => r.walks.includes("shortcut")).length;
  const episodes = INDEX.rows.filter((r) => r.walks.includes("episode")).length;
  $("run-counts").textContent = count(INDEX.rows.length) + " trees · " + count(journeys) + " with a journey · " +
    count(shortcuts) + " with a shortcut · " + (episodes ? count(episodes) + " with an episode · " : "") +
    count(INDEX.rejects.length) + " rejected rows";
  watchList();
  let pending = false; // one redraw per frame while the window is being resized
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paintRows(); if (state.tree) drawTree(state.tree); });
  });
  window.addEventListener("hashchange", followHash);
  renderFilters();
  renderList();
  document.body.setAttribute("data-index-ms", performance.now().toFixed(1));
  const first = followHash() || (items.length ? select(items[0].key) : null);
  Promise.resolve(first).finally(() => document.body.setAttribute("data-ready", "1"));
}

start();
