// Each tree's data arrives only when it is opened. The trees are stored in chunks (a hundred
// each) named by a hash of their content: inline as JSON islands (#chunk-KEY) in a one-file
// report, or as data/chunk-KEY.js beside index.html in a report folder, each a script that
// hands its trees to window.journeygenChunk (a script loads from file://, fetch() does not).
// A few chunks stay in memory; the body's data-chunks lists every chunk asked for, in order.
const KEEP_CHUNKS = 8;
const chunkCache = new Map(); // key -> Promise<Map<problem id, tree>>, least recently used first
const chunkWaits = new Map(); // key -> {resolve, reject} while its script loads
const chunksAsked = [];

const byProblem = (trees) => new Map(trees.map((t) => [t.problem.id, t]));

window.journeygenChunk = (key, trees) => {
  const wait = chunkWaits.get(key);
  if (!wait) return;
  chunkWaits.delete(key);
  wait.resolve(byProblem(trees));
};

function chunkScript(key) {
  const src = "data/chunk-" + key + ".js";
  return new Promise((resolve, reject) => {
    chunkWaits.set(key, { resolve, reject });
    const el = h("script", { src, "data-chunk": key });
    const fail = (why) => {
      if (!chunkWaits.has(key)) return;
      chunkWaits.delete(key);
      el.remove();
      reject(new Error("Could not load " + src + " (" + why + "): keep index.html and its data/ folder together; if the report was written again since this page was opened, reload it."));
    };
    el.addEventListener("error", () => fail("missing or refused"));
    el.addEventListener("load", () => fail("it holds other data than this page expects"));
    document.head.appendChild(el);
  });
}

function chunkIsland(key) {
  const island = document.getElementById("chunk-" + key);
  if (!island) return Promise.reject(new Error("This report has no data for chunk " + key + "."));
  return Promise.resolve(byProblem(JSON.parse(island.textContent)));
}

function loadChunk(number) {
  const key = INDEX.chunks[number];
  let promise = chunkCache.get(key);
  if (promise) chunkCache.delete(key); // put back below as the most recently used
  else {
    promise = INDEX.mode === "folder" ? chunkScript(key) : chunkIsland(key);
    promise.catch(() => { if (chunkCache.get(key) === promise) chunkCache.delete(key); }); // try again later
    chunksAsked.push(key);
    document.body.setAttribute("data-chunks", chunksAsked.join(" "));
  }
  chunkCache.set(key, promise);
  for (const old of chunkCache.keys()) {
    if (chunkCache.size <= KEEP_CHUNKS) break;
    chunkCache.delete(old);
    const el = document.querySelector('script[data-chunk="' + old + '"]');
    if (el) el.remove();
  }
  return promise;
}

// The whole data of the problem in index row `row`.
async function loadTree(row) {
  const trees = await loadChunk(row.chunk);
  const t = trees.get(row.id);
  if (!t) throw new Error("Chunk " + INDEX.chunks[row.chunk] + " has no tree " + row.id + ": rebuild the report.");
  return t;
}
