// One tree: a row per shown leaf, a column per depth. Columns narrow (down to MIN_COLW) and
// labels are cut to the room they have so that the tree fits its pane; a tree that still
// does not fit is scaled down (not below MIN_SCALE), and only then does the pane scroll.
const MAX_COLW = 215, MIN_COLW = 150, ROWH = 34, PAD = 28, X0 = PAD + 12;
const GUTTER = 24; // free room left of each column, where journey marks can go
const LEAF_ROOM = 230; // widest label of a leaf: its row is free to its right
const HEAD_CHARS = 80, MIN_SCALE = 0.7;
let drawn = null; // the drawing's natural size, to refit it when the window changes
const ruler = document.createElement("canvas").getContext("2d");
let fonts = null; // the label's and the value's fonts as the style sheet sets them

// Width of `text` in the label's or the value's font: a canvas measures it without laying
// the page out again, so fitting every label of a tree costs no layout.
function textWidth(text, which) {
  if (!fonts) {
    const g = $("tree-svg").appendChild(s("g", { class: "node" }, [s("text", { class: "label" }, [s("tspan", { class: "value" })])]));
    const font = (el) => { const cs = getComputedStyle(el); return cs.fontWeight + " " + cs.fontSize + " " + cs.fontFamily; };
    fonts = { label: font(g.firstChild), value: font(g.firstChild.firstChild) };
    g.remove();
  }
  ruler.font = fonts[which];
  return ruler.measureText(text).width;
}

// Rows and depths first; then the widest columns that let every shown leaf's label end
// inside the pane (measured, up to LEAF_ROOM), kept between MIN_COLW and MAX_COLW.
function layout(t, ix) {
  const pos = new Map(), leaves = [];
  let row = 0;
  (function place(id, depth) {
    const shown = state.collapsed.has(id) ? [] : ix.kids.get(id) || [];
    for (const c of shown) place(c, depth + 1);
    if (!shown.length) { pos.set(id, { y: PAD + row * ROWH, depth }); row += 1; leaves.push(id); return; }
    const first = pos.get(shown[0]), last = pos.get(shown[shown.length - 1]);
    pos.set(id, { y: (first.y + last.y) / 2, depth });
  })(ROOT, 0);
  const width = $("tree-pane").clientWidth - X0 - PAD;
  let colw = MAX_COLW;
  for (const id of leaves) {
    const depth = pos.get(id).depth;
    if (!depth) continue;
    const parts = labelParts(t, ix, id);
    const label = textWidth(parts.head + parts.tail, "label") + textWidth(parts.value, "value");
    colw = Math.min(colw, Math.floor((width - parts.offset - Math.min(LEAF_ROOM, label)) / depth));
  }
  colw = Math.max(MIN_COLW, colw);
  for (const p of pos.values()) p.x = X0 + p.depth * colw;
  return { pos, rows: row, colw };
}

function radius(n) { return n && n.value !== null && n.value !== undefined ? 5 + 7 * n.value : 6; }
function nodeClass(n) { // by label; a cut step is outlined dashed, a padding step faded
  return (n.source === "reference" ? "reference" : n.label) + (isCut(n) ? " cut" : "") + (n.padding ? " padding" : "");
}
function edgePath(a, b) {
  const mx = (a.x + b.x) / 2;
  return "M" + a.x + "," + a.y + " C" + mx + "," + a.y + " " + mx + "," + b.y + " " + b.x + "," + b.y;
}

function drawTree(t) {
  const ix = index(t);
  const svg = clear($("tree-svg"));
  const { pos, rows, colw } = layout(t, ix);
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
  for (const [id, p] of pos) drawNode(t, ix, id, p, colw, nodesG);
  drawJourney(t, ix, pos, overlay, orders, nodesG); // after the labels: its marks avoid them
  let width = 0, height = PAD * 2 + Math.max(rows, 1) * ROWH;
  for (const g of [overlay, nodesG, orders]) {
    const box = g.getBBox();
    if (box.width || box.height) { width = Math.max(width, box.x + box.width + PAD); height = Math.max(height, box.y + box.height + PAD); }
  }
  drawn = { width: Math.ceil(width), height: Math.ceil(height) };
  fitTree();
}

function fitTree() {
  if (!drawn) return;
  const scale = Math.max(MIN_SCALE, Math.min(1, $("tree-pane").clientWidth / drawn.width));
  put($("tree-svg"), { width: Math.floor(drawn.width * scale), height: Math.ceil(drawn.height * scale),
    viewBox: "0 0 " + drawn.width + " " + drawn.height });
}

function clearTree() {
  drawn = null;
  const svg = clear($("tree-svg"));
  for (const name of ["width", "height", "viewBox"]) svg.removeAttribute(name);
}

// A label's text with its head cut (its tail and value stay) so the whole fits `room` pixels.
function fitLabel(head, tail, value, room) {
  const fits = (text) => textWidth(text, "label") + textWidth(value, "value") <= room;
  const cut = (n) => head.slice(0, n).trimEnd() + "…" + tail;
  if (fits(head + tail)) return head + tail;
  let lo = 0, hi = head.length - 1; // characters of the head kept before "…"
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(cut(mid))) lo = mid; else hi = mid - 1;
  }
  return cut(lo);
}

// A node's label: its text (cut later to fit), what follows it (answer, hidden count), its
// value, and how far right of the node's centre it starts (past the circle and the toggle).
function labelParts(t, ix, id) {
  const n = id === ROOT ? null : ix.nodes.get(id);
  const kids = (ix.kids.get(id) || []).length;
  let tail = n && n.terminal ? (n.answer === null ? " ⇒ (no answer)" : " ⇒ " + short(n.answer, 12)) : "";
  if (n && isCut(n)) tail += " ✂";
  if (kids && state.collapsed.has(id)) tail += "  (+" + descendants(ix, id) + " hidden)";
  return { head: short(n ? n.text : "Question: " + t.problem.question, HEAD_CHARS), tail,
    value: n && n.value !== null && n.value !== undefined ? "  " + fmt(n.value) : "",
    offset: (id === ROOT ? 7 : radius(n)) + 5 + (kids ? 16 : 0) };
}

function drawNode(t, ix, id, p, colw, into) {
  const n = id === ROOT ? null : ix.nodes.get(id);
  const r = id === ROOT ? 7 : radius(n);
  const cls = "node " + (n ? nodeClass(n) : "root") + (state.node === id ? " selected" : "");
  const g = into.appendChild(s("g", { class: cls, "data-node": id, "data-label": n ? n.label : "root" }));
  g.appendChild(s("circle", { class: "body", cx: p.x, cy: p.y, r }));
  const { head, tail, value, offset } = labelParts(t, ix, id);
  const kids = ix.kids.get(id) || [];
  const open = kids.length > 0 && !state.collapsed.has(id);
  const lx = p.x + offset;
  if (kids.length) {
    const toggle = s("g", { class: "toggle", "data-toggle": id }, [
      s("rect", { x: lx - 16, y: p.y - 6, width: 12, height: 12, rx: 2 }),
      s("text", { x: lx - 13, y: p.y + 4 }, [open ? "−" : "+"]),
      s("title", {}, [open ? "collapse" : "expand"])]);
    toggle.addEventListener("click", (ev) => {
      ev.stopPropagation();
      if (open) state.collapsed.add(id); else state.collapsed.delete(id);
      drawTree(t);
    });
    g.appendChild(toggle);
  }
  // an open node's label sits above the edges that leave it and ends before the next column's
  // gutter; a leaf's (or a folded node's) is centred on its own row, free to its right
  const text = fitLabel(head, tail, value, open ? p.x + colw - GUTTER - lx : LEAF_ROOM);
  const label = g.appendChild(s("text", { class: "label", x: lx, y: open ? p.y - 7 : p.y + 4 }, [text]));
  if (value) label.appendChild(s("tspan", { class: "value" }, [value]));
  g.appendChild(s("title", {}, [n ? n.text : t.problem.question]));
  g.addEventListener("click", () => { state.node = id; drawTree(t); renderNode(t); writeHash(); });
}
