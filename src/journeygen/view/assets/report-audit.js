// What stands behind a step's label: cut and padding notes, and, folded, the request the run's
// cache kept for it (backend, sampling options, every message sent) and the raw answer.
// Requests are filed once per tree under their key (siblings share one); every text goes in
// as text.
const isCut = (n) => n.finish_reason === "length";

// The notes that say a step is cut or adds nothing, for the head of its details.
function stepNotes(n) {
  const notes = [];
  if (isCut(n)) {
    notes.push(h("div", { class: "note cut", "data-field": "cut" },
      ["✂ Cut by max_tokens: never a correct step, not expanded."]));
  }
  if (n.padding) {
    notes.push(h("div", { class: "note padding", "data-field": "padding" },
      ["Adds nothing: " + n.padding + " (not expanded, left out of sample text)."]));
  }
  return notes;
}

function optionsText(options) {
  return Object.keys(options || {}).sort().filter((k) => options[k] !== null && options[k] !== undefined)
    .map((k) => k + "=" + JSON.stringify(options[k])).join(", ");
}

// The folded request and raw answer of step `n`; a step made with an earlier step of one whole
// sampled solution shows that step's request, and a step without one says why.
function auditSection(t, n) {
  let owner = n, audit = n.audit || { missing: "not recorded in this report" };
  if (audit.via) {
    owner = t.nodes.find((x) => x.id === audit.via) || null;
    audit = owner && owner.audit ? owner.audit : { missing: "step " + audit.via + " is not in the tree" };
  }
  const [key, sample] = owner && owner.request ? owner.request.split("/") : [null, null];
  const sent = key && !audit.missing ? (t.requests || {})[key] : null;
  if (!sent) {
    return h("div", { class: "note", "data-field": "no-request" }, ["No request recorded: " + (audit.missing || "not in this report")]);
  }
  const raw = audit.completion;
  const body = [];
  if (owner !== n) {
    body.push(h("div", { class: "note", "data-field": "via" }, ["Made with step " + owner.id +
      ": one whole solution sampled at once, so the raw answer below is that whole solution."]));
  }
  body.push(kv([["backend", sent.backend], ["cache entry", owner.request],
    ["sample", Number(sample) + 1], ["options", optionsText(sent.options)]]));
  sent.messages.forEach((m, i) => {
    body.push(h("div", { class: "role" }, ["message " + (i + 1) + " · " + String(m.role)]),
      h("div", { class: "text", "data-field": "message" }, [String(m.content)]));
  });
  if (!raw) {
    body.push(h("div", { class: "note", "data-field": "no-completion" }, ["The cache holds no raw answer for this sample."]));
  } else {
    const same = raw.same_text ? " · same as the step's text" : "";
    body.push(h("div", { class: "role" }, ["raw completion · finish reason " + (raw.finish_reason || "not recorded") + same]),
      h("div", { class: "text", "data-field": "raw-completion" }, [raw.same_text ? owner.text : raw.text]));
    const thinking = raw.reasoning || owner.reasoning;
    if (thinking) {
      body.push(h("div", { class: "role" }, ["raw reasoning"]), h("div", { class: "text", "data-field": "raw-reasoning" }, [thinking]));
    }
  }
  const summary = "Request and raw answer (" + sent.messages.length + " messages, " + sent.backend + ")";
  return h("details", { class: "audit", "data-field": "audit" }, [h("summary", {}, [summary]), ...body]);
}
