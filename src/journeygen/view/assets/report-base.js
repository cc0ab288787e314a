// journeygen report: lists a run's problems from the index in #report-index and draws a tree
// once its chunk is loaded (report-chunks.js). html.py inlines the report-*.js files into one
// function scope in a fixed order (base, chunks, list, tree, journey, audit, details, app);
// app.js starts the page once every file has run.
// Every piece of model or problem text reaches the page through textContent or
// setAttribute, never through innerHTML, so it is shown as text and never runs.
// INDEX: {run, mode: "single"|"folder", chunks: [key], rejects: [row], rows: [{id, q (the
// question's start), cut (q is cut), status, nodes, ok, wrong (correct / incorrect leaves),
// walks: [kind], leaf (has a correct leaf), chunk (index into chunks)}]}.
const INDEX = JSON.parse(document.getElementById("report-index").textContent);
const SVGNS = "http://www.w3.org/2000/svg";
const ROOT = "ROOT";
// tree: the open problem's whole data once its chunk is in (null while it loads)
const state = { filter: "all", query: "", key: null, tree: null, walk: 0, node: ROOT, collapsed: new Set() };

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

function kv(pairs) {
  const dl = h("dl", { class: "kv" });
  for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== "") dl.append(h("dt", {}, [k]), h("dd", {}, [String(v)]));
  return dl;
}

// ---- one tree's links: children by parent (ROOT: the question) and the way up ----
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

function currentWalk(t) { return state.walk === null ? null : t.walks[state.walk] || null; }
