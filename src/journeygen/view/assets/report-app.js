// Choosing a problem, deep links (#p=<problem id>&w=<walk index|none>&n=<node id>, #r=<row>),
// refitting the tree when the window changes, and the start of the page.
function select(key, walk, node) {
  const it = byKey.get(key);
  if (!it) return;
  state.key = key;
  state.collapsed = new Set();
  renderList();
  renderHead(it);
  if (it.reject) {
    clear($("walk-bar")); clearTree(); clear($("walk-detail"));
    clear($("node-detail")).appendChild(h("div", { class: "empty" }, ["This row was rejected before search: no tree."]));
    writeHash();
    return;
  }
  const t = it.tree;
  state.node = node && (node === ROOT || t.nodes.some((n) => n.id === node)) ? node : ROOT;
  const chosen = walk === "none" ? null : walk !== undefined && walk !== null && t.walks[Number(walk)] ? Number(walk) : (t.walks.length ? 0 : null);
  chooseWalk(t, chosen);
}

function writeHash() {
  const it = byKey.get(state.key);
  if (!it) return;
  const params = new URLSearchParams();
  if (it.tree) {
    params.set("p", it.tree.problem.id);
    params.set("w", state.walk === null ? "none" : String(state.walk));
    if (state.node !== ROOT) params.set("n", state.node);
  } else params.set("r", it.key.slice(2));
  try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { /* some file:// contexts refuse */ }
}

function start() {
  $("run-title").textContent = "journeygen · " + DATA.run;
  const journeys = DATA.problems.filter((p) => p.walks.some((w) => w.kind === "journey")).length;
  const shortcuts = DATA.problems.filter((p) => p.walks.some((w) => w.kind === "shortcut")).length;
  $("run-counts").textContent = DATA.problems.length + " trees · " + journeys + " with a journey · " +
    shortcuts + " with a shortcut · " + DATA.rejects.length + " rejected rows";
  $("search").addEventListener("input", (ev) => { state.query = ev.target.value.trim().toLowerCase(); renderFilters(); renderList(); });
  let pending = false; // one redraw per frame while the window is being resized
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; const it = byKey.get(state.key); if (it && it.tree) drawTree(it.tree); });
  });
  renderFilters();
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.has("p") ? "p:" + params.get("p") : params.has("r") ? "r:" + params.get("r") : null;
  if (key && byKey.has(key)) select(key, params.get("w"), params.get("n"));
  else if (items.length) select(items[0].key);
  else renderList();
  document.body.setAttribute("data-render-ms", (performance.now() - started).toFixed(1));
  document.body.setAttribute("data-ready", "1");
}

start();
