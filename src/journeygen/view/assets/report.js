// journeygen report: draws a run's trees from the JSON in #report-data.
// Every piece of model or problem text reaches the page through textContent or
// setAttribute, never through innerHTML, so it is shown as text and never runs.
(function () {
  "use strict";
  const started = performance.now();
  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const ROOT = "ROOT";
  const COLW = 215, ROWH = 34, PAD = 28, LABEL_CHARS = 28;
  const FILTERS = [
    ["all", "all"],
    ["journey", "has journey"],
    ["nocorrect", "no correct leaf"],
    ["partial", "partial / failed"],
    ["rejected", "rejected"],
  ];
  const state = { filter: "all", query: "", key: null, walk: 0, node: ROOT, collapsed: new Set() };

  // ---- DOM helpers: text only ever goes in as text nodes ----
  function put(el, attrs, children) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) el.setAttribute(name, String(value));
    }
    for (const child of children || []) {
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const h = (tag, attrs, children) => put(document.createElement(tag), attrs, children);
  const s = (tag, attrs, children) => put(document.createElementNS(SVGNS, tag), attrs, children);
  const clear = (el) => { while (el.firstChild) el.removeChild(el.firstChild); return el; };
  const $ = (id) => document.getElementById(id);
  const short = (text, n) => {
    const flat = String(text).replace(/\s+/g, " ").trim();
    return flat.length <= n ? flat : flat.slice(0, n - 1) + "…";
  };
  const fmt = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(2));

  // ---- the list: trees and rejected rows ----
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

  // ---- one tree ----
  function index(t) {
    const nodes = new Map(t.nodes.map((n) => [n.id, n]));
    const kids = new Map([[ROOT, []]]);
    for (const n of t.nodes) kids.set(n.id, []);
    for (const n of t.nodes) {
      const parent = n.parent === null ? ROOT : n.parent;
      if (!kids.has(parent)) kids.set(parent, []);
      kids.get(parent).push(n.id);
    }
    const parentOf = (id) => (id === ROOT ? null : (nodes.get(id).parent === null ? ROOT : nodes.get(id).parent));
    return { nodes, kids, parentOf };
  }

  function descendants(ix, id) {
    let count = 0;
    for (const c of ix.kids.get(id) || []) count += 1 + descendants(ix, c);
    return count;
  }

  function layout(ix) {
    const pos = new Map();
    let row = 0, deepest = 0;
    (function place(id, depth) {
      deepest = Math.max(deepest, depth);
      const shown = state.collapsed.has(id) ? [] : ix.kids.get(id) || [];
      for (const c of shown) place(c, depth + 1);
      const x = PAD + 8 + depth * COLW;
      if (!shown.length) { pos.set(id, { x, y: PAD + row * ROWH, depth }); row += 1; return; }
      const first = pos.get(shown[0]), last = pos.get(shown[shown.length - 1]);
      pos.set(id, { x, y: (first.y + last.y) / 2, depth });
    })(ROOT, 0);
    return { pos, rows: row, deepest };
  }

  function radius(n) { return n && n.value !== null && n.value !== undefined ? 5 + 7 * n.value : 6; }
  function nodeClass(n) { return n.source === "reference" ? "reference" : n.label; }
  function edgePath(a, b) {
    const mx = (a.x + b.x) / 2;
    return "M" + a.x + "," + a.y + " C" + mx + "," + a.y + " " + mx + "," + b.y + " " + b.x + "," + b.y;
  }

  // The walk as moves between nodes; each segment keeps its number (1-based) on the drawing.
  function moves(walk) {
    const out = [];
    let at = ROOT;
    walk.segments.forEach((seg, i) => {
      if (seg.kind === "reflection") { out.push({ num: i + 1, kind: seg.kind, at: seg.node_id || at }); return; }
      const to = seg.kind === "backtrack" ? (seg.node_id === null ? ROOT : seg.node_id) : seg.node_id;
      if (to === null || to === undefined) return;
      out.push({ num: i + 1, kind: seg.kind, from: at, to });
      at = to;
    });
    return out;
  }

  function currentWalk(t) { return state.walk === null ? null : t.walks[state.walk] || null; }

  function drawTree(t) {
    const ix = index(t);
    const svg = clear($("tree-svg"));
    const { pos, rows, deepest } = layout(ix);
    const width = PAD * 2 + deepest * COLW + 300, height = PAD * 2 + Math.max(rows, 1) * ROWH;
    put(svg, { width, height, viewBox: "0 0 " + width + " " + height });
    svg.appendChild(s("defs", {}, [s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    [s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#e08a00" })])]));
    const edges = s("g", { class: "edges" }), overlay = s("g", { class: "journey-overlay" });
    const nodesG = s("g", { class: "nodes" }), orders = s("g", { class: "orders" });
    svg.append(edges, overlay, nodesG, orders);

    for (const [id, p] of pos) {
      const parent = ix.parentOf(id);
      if (parent !== null && pos.has(parent)) edges.appendChild(s("path", { class: "edge", d: edgePath(pos.get(parent), p) }));
    }

    const walk = currentWalk(t);
    const badges = new Map();
    if (walk) {
      for (const m of moves(walk)) {
        if (m.kind === "reflection") {
          const p = pos.get(m.at);
          if (!p) continue;
          const k = badges.get(m.at) || 0;
          badges.set(m.at, k + 1);
          orders.appendChild(orderMark(m, p.x + 10 + k * 16, p.y - 15));
          continue;
        }
        const a = pos.get(m.from), b = pos.get(m.to);
        if (!a || !b) continue;
        let mid;
        if (ix.parentOf(m.to) === m.from) {
          overlay.appendChild(s("path", { class: "move " + m.kind, d: edgePath(a, b), "data-num": m.num }));
          mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
        } else {
          const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
          const bend = Math.max(40, len * 0.3);
          const c = { x: (a.x + b.x) / 2 + (dy / len) * bend, y: (a.y + b.y) / 2 - (dx / len) * bend };
          overlay.appendChild(s("path", { class: "move " + m.kind, "data-num": m.num, "marker-end": "url(#arrow)",
            d: "M" + a.x + "," + a.y + " Q" + c.x + "," + c.y + " " + b.x + "," + b.y }));
          mid = { x: 0.25 * a.x + 0.5 * c.x + 0.25 * b.x, y: 0.25 * a.y + 0.5 * c.y + 0.25 * b.y };
        }
        orders.appendChild(orderMark(m, mid.x, mid.y));
      }
    }

    for (const [id, p] of pos) nodesG.appendChild(drawNode(t, ix, id, p));
  }

  function orderMark(m, x, y) {
    return s("g", { class: "order " + m.kind, "data-num": m.num }, [
      s("circle", { cx: x, cy: y, r: 8 }), s("text", { x, y }, [String(m.num)]),
      s("title", {}, ["#" + m.num + " " + m.kind.replace("_", " ")])]);
  }

  function drawNode(t, ix, id, p) {
    const n = id === ROOT ? null : ix.nodes.get(id);
    const r = id === ROOT ? 7 : radius(n);
    const cls = "node " + (n ? nodeClass(n) : "root") + (state.node === id ? " selected" : "");
    const g = s("g", { class: cls, "data-node": id, "data-label": n ? n.label : "root" });
    g.appendChild(s("circle", { class: "body", cx: p.x, cy: p.y, r }));
    let text = n ? short(n.text, LABEL_CHARS) : "Question: " + short(t.problem.question, LABEL_CHARS - 10);
    if (n && n.terminal) text += n.answer === null ? " ⇒ (no answer)" : " ⇒ " + short(n.answer, 12);
    const kids = ix.kids.get(id) || [];
    let lx = p.x + r + 5;
    if (kids.length) {
      const closed = state.collapsed.has(id);
      const toggle = s("g", { class: "toggle", "data-toggle": id }, [
        s("rect", { x: lx, y: p.y - 6, width: 12, height: 12, rx: 2 }),
        s("text", { x: lx + 3, y: p.y + 4 }, [closed ? "+" : "−"]),
        s("title", {}, [closed ? "expand" : "collapse"])]);
      toggle.addEventListener("click", (ev) => {
        ev.stopPropagation();
        if (closed) state.collapsed.delete(id); else state.collapsed.add(id);
        drawTree(t);
      });
      g.appendChild(toggle);
      lx += 16;
      if (closed) text += "  (+" + descendants(ix, id) + " hidden)";
    }
    // an inner node's label sits above the edges that leave it; a leaf's is centred
    const label = s("text", { class: "label", x: lx, y: kids.length && !state.collapsed.has(id) ? p.y - 7 : p.y + 4 }, [text]);
    if (n) label.appendChild(s("tspan", { class: "value" }, [n.value === null ? "" : "  " + fmt(n.value)]));
    g.appendChild(label);
    g.appendChild(s("title", {}, [n ? n.text : t.problem.question]));
    g.addEventListener("click", () => { state.node = id; drawTree(t); renderNode(t); writeHash(); });
    return g;
  }

  // ---- side panels ----
  function kv(pairs) {
    const dl = h("dl", { class: "kv" });
    for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== "") dl.append(h("dt", {}, [k]), h("dd", {}, [String(v)]));
    return dl;
  }

  function renderNode(t) {
    const box = clear($("node-detail"));
    if (state.node === ROOT || !t.nodes.some((n) => n.id === state.node)) {
      box.append(h("h3", {}, ["Question"]), h("div", { class: "text", "data-field": "question" }, [t.problem.question]),
        kv([["gold answer", t.problem.answer], ["status", t.status], ["error", t.error],
          ["stop reason", t.stats.stop_reason], ["strategy", t.strategy], ["config hash", t.config_hash]]));
      if (t.problem.solution) box.append(h("h3", {}, ["Reference solution"]), h("div", { class: "text" }, [t.problem.solution]));
      return;
    }
    const n = t.nodes.find((x) => x.id === state.node);
    const ix = index(t);
    let depth = 0;
    for (let id = n.id; id !== ROOT; id = ix.parentOf(id)) depth += 1;
    box.append(h("h3", {}, ["Step " + n.id + " ", h("span", { class: "badge " + n.label }, [n.label]), " ",
      n.source !== "policy" ? h("span", { class: "badge reference" }, [n.source]) : null]));
    box.append(h("div", { class: "text", "data-field": "node-text" }, [n.text]));
    box.append(kv([["value", fmt(n.value)], ["source", n.source], ["depth", depth],
      ["final step", n.terminal ? "yes" : "no"], ["answer", n.answer], ["children", (ix.kids.get(n.id) || []).length],
      ["visits", n.visits ? n.visits : null],
      ["usage", n.usage.calls + " calls · " + n.usage.prompt_tokens + " prompt + " + n.usage.completion_tokens + " completion tokens"]]));
    const walk = currentWalk(t);
    if (walk) {
      const uses = walk.segments.map((seg, i) => [seg, i + 1]).filter(([seg]) => seg.node_id === n.id)
        .map(([seg, num]) => "#" + num + " " + seg.kind.replace("_", " "));
      if (uses.length) box.append(kv([["in this " + walk.kind, uses.join(", ")]]));
    }
    box.append(h("h3", {}, ["Verdicts"]));
    if (!n.verdicts.length) { box.append(h("div", { class: "empty" }, ["No verdicts."])); return; }
    const table = h("table", { class: "verdicts" }, [h("tr", {}, [h("th", {}, ["judge"]), h("th", {}, ["label"]),
      h("th", {}, ["score"]), h("th", {}, ["reason"])])]);
    for (const v of n.verdicts) {
      table.appendChild(h("tr", { "data-verdict": v.label }, [h("td", {}, [v.judge]),
        h("td", {}, [h("span", { class: "badge " + v.label }, [v.label])]), h("td", {}, [fmt(v.score)]),
        h("td", { class: "reason" }, [v.reason || "—"])]));
    }
    box.append(table);
  }

  function renderWalk(t) {
    const box = clear($("walk-detail"));
    const walk = currentWalk(t);
    if (!walk) {
      box.append(h("div", { class: "empty" }, [t.walks.length ? "No walk drawn." :
        t.has_correct_leaf ? "No journey: no wrong branch near the correct path." : "No journey or shortcut: the tree has no correct leaf."]));
      return;
    }
    box.append(h("h3", {}, [walk.kind === "journey" ? "Journey" : "Shortcut"]),
      kv([["correct path", walk.path_source], ["detours", walk.detours], ["segments", walk.segments.length], ["text", walk.mode]]));
    const list = h("ol", { class: "segments" });
    walk.segments.forEach((seg, i) => {
      const li = h("li", { class: seg.kind, "data-num": i + 1 }, [h("span", { class: "num" }, [String(i + 1)]),
        h("span", { class: "kind" }, [seg.kind.replace("_", " ") + (seg.source ? " (" + seg.source + ")" : "")]), seg.text || (seg.kind === "backtrack" ? "(back to the question)" : "")]);
      if (seg.node_id) li.addEventListener("click", () => { state.node = seg.node_id; drawTree(t); renderNode(t); writeHash(); });
      list.appendChild(li);
    });
    box.append(list, h("h3", {}, ["Linearised thought"]), h("div", { class: "text", "data-field": "thought" }, [walk.thought]),
      h("h3", {}, ["Final solution"]), h("div", { class: "text" }, [walk.solution]));
    const rw = walk.rewrite;
    if (rw) {
      box.append(h("h3", {}, ["Draft vs rewrite"]));
      const f = rw.fidelity;
      box.append(h("div", { class: "fidelity " + (f.status === "passed" ? "ok" : "bad"), "data-fidelity": f.status },
        ["fidelity check: " + f.status + " (" + f.reason + ")" + (f.status === "passed" ? "" : ": the template draft is used")]));
      if (rw.diff) {
        const diff = h("div", { class: "text diff" });
        for (const [op, text] of rw.diff) diff.appendChild(op === "=" ? document.createTextNode(text) : h(op === "-" ? "del" : "ins", {}, [text]));
        box.append(diff);
      } else {
        box.append(h("div", { class: "text" }, [rw.draft]));
      }
    }
  }

  function renderWalkBar(t) {
    const bar = clear($("walk-bar"));
    bar.appendChild(h("span", { class: "label" }, ["Draw:"]));
    const journeys = t.walks.filter((w) => w.kind === "journey").length;
    let seen = 0;
    t.walks.forEach((w, i) => {
      if (w.kind === "journey") seen += 1;
      const name = w.kind === "journey" && journeys > 1 ? "journey " + seen : w.kind;
      const b = h("button", { type: "button", "aria-pressed": state.walk === i, "data-walk": i }, [name]);
      b.addEventListener("click", () => chooseWalk(t, i));
      bar.appendChild(b);
    });
    const none = h("button", { type: "button", "aria-pressed": state.walk === null, "data-walk": "none" }, ["none"]);
    none.addEventListener("click", () => chooseWalk(t, null));
    bar.appendChild(none);
    const expand = h("button", { type: "button", class: "tool" }, ["expand all"]);
    expand.addEventListener("click", () => { state.collapsed.clear(); drawTree(t); });
    const fold = h("button", { type: "button", class: "tool" }, ["fold off-walk branches"]);
    fold.addEventListener("click", () => { foldOffWalk(t); drawTree(t); });
    bar.append(expand, fold);
  }

  function foldOffWalk(t) {
    const walk = currentWalk(t);
    const ix = index(t);
    const keep = new Set([ROOT]);
    for (const seg of walk ? walk.segments : []) {
      for (let id = seg.node_id; id && id !== ROOT; id = ix.parentOf(id)) keep.add(id);
    }
    state.collapsed.clear();
    for (const id of keep) for (const c of ix.kids.get(id) || []) if (!keep.has(c) && (ix.kids.get(c) || []).length) state.collapsed.add(c);
  }

  function chooseWalk(t, i) {
    state.walk = i;
    const walk = currentWalk(t);
    if (walk) { // a collapsed ancestor would hide part of the walk: open them
      const ix = index(t);
      for (const seg of walk.segments) for (let id = seg.node_id ? ix.parentOf(seg.node_id) : null; id; id = ix.parentOf(id)) state.collapsed.delete(id);
    }
    renderWalkBar(t); drawTree(t); renderNode(t); renderWalk(t); writeHash();
  }

  function renderHead(it) {
    const head = clear($("problem-head"));
    if (it.reject) {
      const r = it.reject;
      head.append(h("h2", {}, ["Rejected row " + String(r.file || "") + ":" + String(r.line || "?")]),
        kv([["field", r.field], ["error", r.error]]), h("div", { class: "text", "data-field": "raw" }, [String(r.raw ?? "")]));
      return;
    }
    const t = it.tree, st = t.stats;
    head.append(h("h2", {}, [t.problem.id + " ", h("span", { class: "badge " + t.status }, [t.status])]),
      h("div", { class: "question", "data-field": "problem-question" }, [t.problem.question]),
      h("div", { class: "meta" }, ["gold " + (t.problem.answer ?? "—") + " · " + st.nodes + " nodes · depth " + st.depth +
        " · ✓ leaves " + st.correct_leaves + " · ✗ leaves " + st.incorrect_leaves + " · " +
        (st.usage.prompt_tokens + st.usage.completion_tokens) + " tokens" + (t.error ? " · error: " + t.error : "")]));
  }

  function select(key, walk, node) {
    const it = byKey.get(key);
    if (!it) return;
    state.key = key;
    state.collapsed = new Set();
    renderList();
    renderHead(it);
    if (it.reject) {
      clear($("walk-bar")); clear($("tree-svg")); clear($("walk-detail"));
      clear($("node-detail")).appendChild(h("div", { class: "empty" }, ["This row was rejected before search: no tree."]));
      writeHash();
      return;
    }
    const t = it.tree;
    state.node = node && (node === ROOT || t.nodes.some((n) => n.id === node)) ? node : ROOT;
    const chosen = walk === "none" ? null : walk !== undefined && walk !== null && t.walks[Number(walk)] ? Number(walk) : (t.walks.length ? 0 : null);
    chooseWalk(t, chosen);
  }

  // ---- deep links: #p=<problem id>&w=<walk index|none>&n=<node id> ----
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
})();
