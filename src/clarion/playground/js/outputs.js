// Rendering results: concept bars, embeddings (with cosine similarity), streamed text and
// each input's own status.

import { describe, OK } from "./api.js";
import { clear, el } from "./dom.js";

function statusBadge(status) {
  const ok = status && status.code === OK;
  return el("p", { class: `badge ${ok ? "ok" : "bad"}`, "data-code": status ? status.code : "" }, describe(status));
}

function inputLabel(input, index) {
  if (!input) return `Input ${index + 1}`;
  if (input.kind === "text") return `Input ${index + 1}: ${input.text.slice(0, 60)}`;
  if (input.kind === "image-file") return `Input ${index + 1}: ${input.name}`;
  return `Input ${index + 1}: ${input.url}`;
}

function conceptBars(concepts) {
  const sorted = [...concepts].sort((a, b) => (b.value || 0) - (a.value || 0));
  const list = el("ol", { class: "concepts", "aria-label": "Concepts, highest value first" });
  for (const concept of sorted) {
    const value = concept.value || 0;
    const name = concept.name || concept.id;
    const bar = el("span", { class: "bar-fill" });
    bar.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
    list.append(
      el(
        "li",
        { class: "concept", "data-name": name, "data-value": value },
        el("span", { class: "concept-name", title: name, text: name }),
        el("span", { class: "bar", "aria-hidden": "true" }, bar),
        el("span", { class: "concept-value", text: value.toFixed(4) }),
      ),
    );
  }
  return list;
}

function embeddingView(embedding) {
  const vector = embedding.vector || [];
  const preview = vector.slice(0, 8).map((v) => v.toFixed(4)).join(", ");
  return el(
    "div",
    { class: "embedding", "data-dimensions": vector.length },
    el("p", {}, el("strong", { class: "dimensions", text: `${vector.length} dimensions` })),
    el("p", { class: "vector-preview" }, `[${preview}${vector.length > 8 ? ", ..." : ""}]`),
  );
}

export function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

function similarityTable(vectors) {
  const head = el("tr", {}, el("td"), vectors.map((v) => el("th", { scope: "col", text: v.label })));
  const rows = vectors.map((row) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: row.label }),
      vectors.map((col) => el("td", { class: "similarity", text: cosine(row.vector, col.vector).toFixed(4) })),
    ),
  );
  return el(
    "table",
    { class: "table similarity-table" },
    el("caption", { text: "Cosine similarity between the inputs" }),
    el("thead", {}, head),
    el("tbody", {}, rows),
  );
}

/** A finished PostModelOutputs response, one card per input. */
function answeredBy(output) {
  const version = output && output.model && output.model.model_version;
  if (!version || !version.id) return null;
  const text = `Answered by version ${version.id}`;
  return el("p", { class: "hint answered-by", "data-version": version.id, text });
}

export function renderPrediction(root, body, inputs) {
  clear(root);
  const vectors = [];
  const by = answeredBy((body.outputs || [])[0]);
  if (by) root.append(by);
  (body.outputs || []).forEach((output, index) => {
    const card = el("article", { class: "result", "data-index": index });
    card.append(el("h3", { text: inputLabel(inputs[index], index) }), statusBadge(output.status));
    const data = output.data || {};
    if (data.concepts && data.concepts.length) card.append(conceptBars(data.concepts));
    if (data.embeddings && data.embeddings.length) {
      card.append(embeddingView(data.embeddings[0]));
      vectors.push({ label: `Input ${index + 1}`, vector: data.embeddings[0].vector || [] });
    }
    if (data.text && data.text.raw !== undefined) {
      card.append(el("pre", { class: "generated-text", text: data.text.raw }));
    }
    root.append(card);
  });
  if (vectors.length > 1) root.append(similarityTable(vectors));
}

/** Streamed generations: text appended as it arrives, the counts when each input ends. */
export class StreamView {
  constructor(root, inputs) {
    this.root = clear(root);
    this.cards = new Map();
    inputs.forEach((input, index) => {
      const text = el("pre", { class: "generated-text", "aria-live": "polite" });
      const reasoning = el(
        "details",
        { class: "reasoning", hidden: true },
        el("summary", { text: "Reasoning notes" }),
        el("pre"),
      );
      const meta = el("dl", { class: "info stream-meta" });
      const status = el("p", { class: "badge", text: "Generating..." });
      const card = el("article", { class: "result", "data-index": index, "data-state": "streaming" },
        el("h3", { text: inputLabel(input, index) }), status, reasoning, text, meta);
      root.append(card);
      this.cards.set(input.id, { card, text, reasoning, meta, status, done: false });
    });
  }

  handle(result) {
    for (const output of result.outputs || []) {
      if (!this.root.querySelector(".answered-by")) {
        const by = answeredBy(output);
        if (by) this.root.prepend(by);
      }
      const entry = this.cards.get(output.input && output.input.id);
      if (!entry) continue;
      const status = output.status || result.status;
      if (status && status.code !== OK) {
        entry.status.replaceWith((entry.status = statusBadge(status)));
        this.finish(entry, "error");
        continue;
      }
      const data = output.data || {};
      if (data.text && data.text.raw) entry.text.textContent += data.text.raw;
      const metadata = data.metadata || {};
      if (metadata.finish_reason || output.prompt_tokens !== undefined) {
        if (metadata.reasoning) {
          entry.reasoning.hidden = false;
          entry.reasoning.querySelector("pre").textContent = metadata.reasoning;
        }
        this.meta(entry, [
          ["prompt tokens", output.prompt_tokens || 0],
          ["completion tokens", output.completion_tokens || 0],
          ["reasoning tokens", metadata.reasoning_tokens],
          ["finish reason", metadata.finish_reason],
        ]);
        entry.status.replaceWith((entry.status = statusBadge(status || { code: OK, description: "Ok" })));
        this.finish(entry, "done");
      }
    }
  }

  meta(entry, pairs) {
    clear(entry.meta);
    for (const [name, value] of pairs) {
      if (value === undefined || value === null) continue;
      entry.meta.append(el("dt", { text: name }), el("dd", { class: name.replace(/ /g, "-"), text: String(value) }));
    }
  }

  finish(entry, state) {
    entry.done = true;
    entry.card.dataset.state = state;
  }

  /** The user pressed Stop (or the connection ended early). */
  stopped(reason) {
    for (const entry of this.cards.values()) {
      if (entry.done) continue;
      entry.status.textContent = reason;
      entry.status.className = "badge bad";
      this.finish(entry, "stopped");
    }
  }

  /** A refusal of the whole request, shown on every card. */
  refused(status) {
    for (const entry of this.cards.values()) {
      entry.status.replaceWith((entry.status = statusBadge(status)));
      this.finish(entry, "error");
    }
  }
}
