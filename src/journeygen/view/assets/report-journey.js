// The walk (journey, shortcut or a critique/dialogue episode) over the tree: moves along edges, back-moves as dashed arrows,
// each segment's number in a mark that covers no label, node or other mark; and its panel.
const MARK_R = 8;
const ALONG = [0.5, 0.62, 0.38, 0.74, 0.26, 0.86, 0.14, 0.93]; // spots tried on a move's line
const BESIDE = [0, MARK_R + 5, -(MARK_R + 5)]; // ... on it first, then beside it

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

const bezier = (pts, t) => { // a point of a quadratic or cubic Bézier curve
  let ps = pts;
  while (ps.length > 1) ps = ps.slice(1).map((p, i) => ({ x: ps[i].x + (p.x - ps[i].x) * t, y: ps[i].y + (p.y - ps[i].y) * t }));
  return ps[0];
};
const shared = (a, b) => Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)) *
  Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)); // area two boxes share

// Spots along a curve (and beside it, along its normal) in the order they are tried.
function spotsAlong(pts) {
  const out = [];
  for (const off of BESIDE) {
    for (const at of ALONG) {
      const p = bezier(pts, at), q = bezier(pts, at + 0.01);
      const len = Math.hypot(q.x - p.x, q.y - p.y) || 1;
      out.push({ x: p.x - ((q.y - p.y) / len) * off, y: p.y + ((q.x - p.x) / len) * off });
    }
  }
  return out;
}

// The first spot whose mark would overlap nothing taken yet (else the one overlapping least);
// the spot is then taken.
function freeSpot(spots, taken) {
  const box = (c) => ({ x: c.x - MARK_R - 1, y: c.y - MARK_R - 1, width: 2 * MARK_R + 2, height: 2 * MARK_R + 2 });
  const cover = (c) => taken.reduce((sum, b) => sum + shared(box(c), b), 0);
  const inside = spots.filter((c) => c.x > MARK_R && c.y > MARK_R);
  let spot = inside.find((c) => cover(c) === 0);
  if (!spot) spot = (inside.length ? inside : spots).reduce((a, b) => (cover(b) < cover(a) ? b : a));
  taken.push(box(spot));
  return spot;
}

function drawJourney(t, ix, pos, overlay, orders, nodesG) {
  const walk = currentWalk(t);
  if (!walk) return;
  const taken = Array.from(nodesG.querySelectorAll("text.label, .toggle rect, circle.body"), (el) => el.getBBox());
  for (const m of moves(walk)) {
    if (m.kind === "reflection") { // beside its node, the left side first (its label is right)
      const p = pos.get(m.at);
      if (!p) continue;
      const d = radius(ix.nodes.get(m.at)) + MARK_R + 3;
      const spots = [135, 225, 180, 90, 270, 45, 315].map((deg) => ({
        x: p.x + d * Math.cos(deg * Math.PI / 180), y: p.y - d * Math.sin(deg * Math.PI / 180) }));
      orders.appendChild(orderMark(m, freeSpot(spots, taken)));
      continue;
    }
    const a = pos.get(m.from), b = pos.get(m.to);
    if (!a || !b) continue;
    let pts;
    if (ix.parentOf(m.to) === m.from) {
      const mx = (a.x + b.x) / 2;
      pts = [a, { x: mx, y: a.y }, { x: mx, y: b.y }, b];
      overlay.appendChild(s("path", { class: "move " + m.kind, d: edgePath(a, b), "data-num": m.num }));
    } else {
      const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      const bend = Math.max(40, len * 0.3);
      const c = { x: (a.x + b.x) / 2 + (dy / len) * bend, y: (a.y + b.y) / 2 - (dx / len) * bend };
      pts = [a, c, b];
      overlay.appendChild(s("path", { class: "move " + m.kind, "data-num": m.num, "marker-end": "url(#arrow)",
        d: "M" + a.x + "," + a.y + " Q" + c.x + "," + c.y + " " + b.x + "," + b.y }));
    }
    orders.appendChild(orderMark(m, freeSpot(spotsAlong(pts), taken)));
  }
}

function orderMark(m, at) {
  return s("g", { class: "order " + m.kind, "data-num": m.num }, [
    s("circle", { cx: at.x, cy: at.y, r: MARK_R }), s("text", { x: at.x, y: at.y }, [String(m.num)]),
    s("title", {}, ["#" + m.num + " " + m.kind.replace("_", " ")])]);
}

function renderWalk(t) {
  const box = clear($("walk-detail"));
  const walk = currentWalk(t);
  if (!walk) {
    box.append(h("div", { class: "empty" }, [t.walks.length ? "No walk drawn." :
      t.has_correct_leaf ? "No journey: no wrong branch near the correct path." : "No journey or shortcut: the tree has no correct leaf."]));
    return;
  }
  box.append(h("h3", {}, [{ journey: "Journey", shortcut: "Shortcut", episode: "Episode (the search's own moves, in order)" }[walk.kind] || walk.kind]),
    kv([["correct path", walk.path_source], ["detours", walk.detours], ["segments", walk.segments.length], ["text", walk.mode]]));
  const list = h("ol", { class: "segments" });
  walk.segments.forEach((seg, i) => {
    const li = h("li", { class: seg.kind, "data-num": i + 1 }, [h("span", { class: "num" }, [String(i + 1)]),
      h("span", { class: "kind" }, [seg.kind.replace("_", " ") + (seg.source ? " (" + seg.source + ")" : "")]), seg.text || (seg.kind === "backtrack" ? "(back to the question)" : "")]);
    if (seg.origin) li.appendChild(originOf(seg.origin));
    if (seg.node_id) li.addEventListener("click", () => { state.node = seg.node_id; drawTree(t); renderNode(t); writeHash(); });
    list.appendChild(li);
  });
  box.append(list, h("h3", {}, ["Linearised thought"]), h("div", { class: "text", "data-field": "thought" }, [walk.thought]),
    h("h3", {}, ["Final solution"]), h("div", { class: "text" }, [walk.solution]));
  const rw = walk.rewrite;
  if (!rw) return;
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

// Where a reflection's "why" came from: the verdict and reason it quotes, and each offer
// passed over with why (a reason that only restates the label, say); all of it as text.
function originOf(o) {
  const who = (x) => x.source + (x.judge && x.judge !== x.source ? " (" + x.judge + ")" : "");
  const box = h("div", { class: "kind origin", "data-field": "origin" }, ["from " + who(o) + (o.reason ? ": " + o.reason : "")]);
  for (const p of o.passed_over || []) box.appendChild(h("div", { class: "passed" }, ["passed over " + who(p) + ": “" + p.reason + "” (" + p.why + ")"]));
  return box;
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
