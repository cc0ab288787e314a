// The problem's head line and the side panel's details of the chosen step (or the question),
// with the request behind its label (report-audit.js).
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
    n.source !== "policy" ? h("span", { class: "badge reference" }, [n.source]) : null]), ...stepNotes(n));
  box.append(h("div", { class: "text", "data-field": "node-text" }, [n.text]));
  if (n.reasoning) { // a reasoning model's own thinking before it wrote this step
    box.append(h("details", { class: "reasoning" }, [h("summary", {}, ["Model's thinking (" + n.reasoning.length + " characters)"]),
      h("div", { class: "text", "data-field": "reasoning" }, [n.reasoning])]));
  }
  box.append(kv([["value", fmt(n.value)], ["source", n.source], ["depth", depth],
    ["final step", n.terminal ? "yes" : "no"], ["answer", n.answer], ["children", (ix.kids.get(n.id) || []).length],
    ["visits", n.visits ? n.visits : null], ["finish reason", n.finish_reason || "not recorded"],
    ["usage", n.usage.calls + " calls · " + n.usage.prompt_tokens + " prompt + " + n.usage.completion_tokens + " completion tokens"]]));
  const walk = currentWalk(t);
  if (walk) {
    const uses = walk.segments.map((seg, i) => [seg, i + 1]).filter(([seg]) => seg.node_id === n.id)
      .map(([seg, num]) => "#" + num + " " + seg.kind.replace("_", " "));
    if (uses.length) box.append(kv([["in this " + walk.kind, uses.join(", ")]]));
  }
  box.append(h("h3", {}, ["Verdicts"]));
  if (!n.verdicts.length) box.append(h("div", { class: "empty" }, ["No verdicts."]));
  else {
    const table = h("table", { class: "verdicts" }, [h("tr", {}, [h("th", {}, ["judge"]), h("th", {}, ["label"]),
      h("th", {}, ["score"]), h("th", {}, ["reason"])])]);
    for (const v of n.verdicts) {
      table.appendChild(h("tr", { "data-verdict": v.label }, [h("td", {}, [v.judge]),
        h("td", {}, [h("span", { class: "badge " + v.label }, [v.label])]), h("td", {}, [fmt(v.score)]),
        h("td", { class: "reason" }, [v.reason || "—"])]));
    }
    box.append(table);
  }
  box.append(auditSection(t, n));
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
