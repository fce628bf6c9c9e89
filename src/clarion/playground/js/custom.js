// Custom concept models: create an app and a model, upload labelled inputs, train versions,
// watch their status and compare versions side by side on one input.

import * as api from "./api.js";
import { $, clear, el, readBase64 } from "./dom.js";
import { renderPrediction } from "./outputs.js";

const IN_PROGRESS = new Set([21103, 21101]);
const POLL_MS = 1000;

function labelled(data, concept, concepts) {
  data.concepts = concepts.map((id) => ({ id, value: id === concept ? 1 : 0 }));
  return { data };
}

export class CustomModels {
  /** `reloadModels(key)` refreshes the model picker and selects "user/app/model". */
  constructor(reloadModels) {
    this.reloadModels = reloadModels;
    this.user = "";
    this.timer = null;
    $("custom-create").addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
    $("custom-upload").addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload();
    });
    $("custom-train").addEventListener("click", () => this.train());
    $("custom-refresh").addEventListener("click", () => this.refresh());
    $("custom-compare").addEventListener("click", () => this.compare());
  }

  start(user) {
    this.user = user;
  }

  get appId() {
    return $("custom-app").value.trim();
  }

  get modelId() {
    return $("custom-model").value.trim();
  }

  get concepts() {
    return $("custom-concepts")
      .value.split(",")
      .map((c) => c.trim())
      .filter(Boolean);
  }

  get model() {
    return { user_id: this.user, app_id: this.appId, id: this.modelId };
  }

  say(id, text, bad = false) {
    $(id).textContent = text;
    $(id).classList.toggle("bad", bad);
  }

  async create() {
    const out = "custom-create-status";
    if (!this.appId || !this.modelId || !this.concepts.length) {
      this.say(out, "Give an app id, a model id and at least one concept.", true);
      return;
    }
    const app = await api.call("POST", `/v2/users/${encodeURIComponent(this.user)}/apps`, {
      apps: [{ id: this.appId }],
    });
    const appExists = !api.succeeded(app) && /already exists/.test(app.status.details || "");
    if (!api.succeeded(app) && !appExists) {
      this.say(out, `The app was refused: ${api.describe(app.status)}`, true);
      return;
    }
    const model = await api.call("POST", `${api.appPath(this.user, this.appId)}/models`, {
      model: {
        id: this.modelId,
        model_type_id: "embedding-classifier",
        output_info: { data: { concepts: this.concepts.map((id) => ({ id, name: id })) } },
      },
    });
    if (!api.succeeded(model)) {
      this.say(out, `The model was refused: ${api.describe(model.status)}`, true);
      return;
    }
    this.say(out, `Created ${this.user}/${this.appId}/models/${this.modelId} (${this.concepts.join(", ")}).`);
    await this.refresh();
  }

  async upload() {
    const out = "custom-upload-status";
    const concepts = this.concepts;
    const inputs = [];
    const lines = $("custom-examples").value.split("\n").map((l) => l.trim()).filter(Boolean);
    for (const [index, line] of lines.entries()) {
      const at = line.indexOf(":");
      const concept = at > 0 ? line.slice(0, at).trim() : "";
      if (!concepts.includes(concept)) {
        this.say(out, `Line ${index + 1} must start with one of ${concepts.join(", ")} and a colon.`, true);
        return;
      }
      inputs.push(labelled({ text: { raw: line.slice(at + 1).trim() } }, concept, concepts));
    }
    const files = [...($("custom-images").files || [])];
    if (files.length) {
      const concept = $("custom-image-concept").value.trim();
      if (!concepts.includes(concept)) {
        this.say(out, `Name the images' concept: one of ${concepts.join(", ")}.`, true);
        return;
      }
      for (const file of files) inputs.push(labelled({ image: { base64: await readBase64(file) } }, concept, concepts));
    }
    if (!inputs.length) {
      this.say(out, "Add labelled texts or images first.", true);
      return;
    }
    let sent = 0;
    for (let start = 0; start < inputs.length; start += 128) {
      const body = await api.call("POST", `${api.appPath(this.user, this.appId)}/inputs`, {
        inputs: inputs.slice(start, start + 128),
      });
      if (!api.succeeded(body)) {
        this.say(out, `Upload stopped after ${sent} inputs: ${api.describe(body.status)}`, true);
        return;
      }
      sent += (body.inputs || []).length;
      this.say(out, `Uploaded ${sent} of ${inputs.length} inputs...`);
    }
    this.say(out, `Uploaded ${sent} labelled inputs to ${this.user}/${this.appId}.`);
  }

  async train() {
    const out = "custom-train-status";
    const body = await api.call("POST", `${api.modelPath(this.model)}/versions`, { model_versions: [{}] });
    if (!api.succeeded(body)) {
      this.say(out, `Training was refused: ${api.describe(body.status)}`, true);
      return;
    }
    const version = body.model.model_version;
    this.say(out, `Version ${version.id}: ${api.describe(version.status)}`);
    await this.watch(version.id);
  }

  async watch(versionId) {
    const out = "custom-train-status";
    clearTimeout(this.timer);
    const body = await api.call("GET", `${api.modelPath(this.model, versionId)}`);
    const version = body.model_version || {};
    const status = version.status || body.status;
    const failed = !IN_PROGRESS.has(status.code) && status.code !== 21100;
    this.say(out, `Version ${versionId}: ${api.describe(status)}`, failed);
    await this.refresh();
    if (IN_PROGRESS.has(status.code)) {
      this.timer = setTimeout(() => this.watch(versionId), POLL_MS);
    } else {
      await this.reloadModels(`${this.user}/${this.appId}/${this.modelId}`);
    }
  }

  async refresh() {
    const tbody = clear($("custom-versions").querySelector("tbody"));
    let versions = [];
    try {
      versions = await api.listAll(`${api.modelPath(this.model)}/versions`, "model_versions");
    } catch (error) {
      tbody.append(el("tr", {}, el("td", { colspan: "5", text: error.message })));
      return;
    }
    for (const [index, version] of versions.entries()) {
      const inputsCount = version.total_input_count;
      const summary = (version.metrics || {}).summary;
      const metrics = summary
        ? `${(summary.macro_avg_precision || 0).toFixed(2)} / ${(summary.macro_avg_recall || 0).toFixed(2)}`
        : "";
      tbody.append(
        el(
          "tr",
          { "data-version": version.id, "data-code": version.status ? version.status.code : "" },
          el("td", {}, el("input", {
            type: "checkbox",
            class: "compare-pick",
            value: version.id,
            "aria-label": `Compare version ${version.id}`,
            checked: index < 2,
          })),
          el("td", {}, el("code", { text: version.id })),
          el("td", { class: "version-status", text: api.describe(version.status) }),
          el("td", { text: inputsCount === undefined ? "" : String(inputsCount) }),
          el("td", { class: "version-metrics", text: metrics }),
        ),
      );
    }
  }

  async compare() {
    const root = clear($("custom-compare-results"));
    const text = $("custom-compare-text").value.trim();
    const picked = [...document.querySelectorAll(".compare-pick:checked")].map((box) => box.value);
    if (!text || !picked.length) {
      root.append(el("p", { class: "error", text: "Type an input and tick at least one version." }));
      return;
    }
    const input = { id: "compare", kind: "text", text };
    for (const versionId of picked) {
      const heading = el("h4", {}, el("code", { text: versionId }));
      const column = el("div", { class: "compare-column", "data-version": versionId }, heading);
      const results = el("div");
      column.append(results);
      root.append(column);
      const body = await api.call("POST", `${api.modelPath(this.model, versionId)}/outputs`, {
        inputs: [{ id: "compare", data: { text: { raw: text } } }],
      });
      if (!api.succeeded(body)) {
        results.append(el("p", { class: "badge bad", text: api.describe(body.status) }));
        continue;
      }
      renderPrediction(results, body, [input]);
    }
  }
}
