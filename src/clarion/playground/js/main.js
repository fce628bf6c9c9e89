// The playground: key prompt, model picker, inputs, options, run / stop, results and code.

import * as api from "./api.js";
import { CustomModels } from "./custom.js";
import { $, clear, el } from "./dom.js";
import { InputList } from "./inputs.js";
import { isClassifier, isGenerative, OptionsPanel } from "./options.js";
import { renderPrediction, StreamView } from "./outputs.js";
import { FORMS, endpoint, requestBody, snippet } from "./snippets.js";

const state = {
  config: { grpc_port: 50051, tls: false },
  user: "",
  models: [],
  model: null,
  versions: [],
  form: "clarifai",
  controller: null,
};

const options = new OptionsPanel($("options"), () => updateCode());
const inputs = new InputList($("input-list"), () => updateCode());

function grpcBase() {
  const scheme = state.config.tls ? "https" : "http";
  return `${scheme}://${location.hostname}:${state.config.grpc_port}`;
}

function isImageModel(model) {
  return Boolean(model && /^visual-/.test(model.model_type_id));
}

function setStatus(text, bad = false) {
  const node = $("result-status");
  node.textContent = text;
  node.classList.toggle("bad", bad);
}

// key ---------------------------------------------------------------------------------------

async function checkKey() {
  const body = await api.call("GET", "/v2/users/me");
  if (!api.succeeded(body)) throw new api.ApiError(body.status);
  return body.user.id;
}

function showPrompt(message = "") {
  $("key-prompt").hidden = false;
  $("main").hidden = true;
  $("key-state").hidden = true;
  $("key-error").textContent = message;
  clear($("model-select"));
  clear($("results"));
  $("key-input").focus();
}

async function enter() {
  try {
    state.user = await checkKey();
  } catch (error) {
    api.forgetKey();
    showPrompt(`The server refused this key: ${error.message}`);
    return;
  }
  $("key-prompt").hidden = true;
  $("main").hidden = false;
  $("key-state").hidden = false;
  $("key-user").textContent = `Signed in as ${state.user}`;
  custom.start(state.user);
  try {
    await loadModels();
  } catch (error) {
    setStatus(`The models could not be listed: ${error.message}`, true);
  }
}

$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) {
    $("key-error").textContent = "Type your key first.";
    return;
  }
  api.setKey(key);
  $("key-input").value = "";
  await enter();
});

$("key-forget").addEventListener("click", () => {
  api.forgetKey();
  state.models = [];
  showPrompt("The key is forgotten.");
});

// models ------------------------------------------------------------------------------------

async function loadModels(selectId) {
  const models = await api.listAll("/v2/users/clarion/apps/main/models", "models");
  try {
    const apps = await api.listAll(`/v2/users/${encodeURIComponent(state.user)}/apps`, "apps");
    for (const app of apps) {
      models.push(...(await api.listAll(`${api.appPath(state.user, app.id)}/models`, "models")));
    }
  } catch (error) {
    setStatus(`Your apps could not be listed: ${error.message}`, true);
  }
  state.models = models;
  const select = clear($("model-select"));
  const groups = new Map();
  models.forEach((model, index) => {
    const app = `${model.user_id}/${model.app_id}`;
    if (!groups.has(app)) groups.set(app, el("optgroup", { label: app }));
    groups.get(app).append(el("option", { value: index, text: `${model.id} (${model.model_type_id})` }));
  });
  for (const group of groups.values()) select.append(group);
  const wanted = models.findIndex((m) => `${m.user_id}/${m.app_id}/${m.id}` === selectId);
  select.value = String(wanted >= 0 ? wanted : 0);
  await pickModel();
}

async function pickModel() {
  const model = state.models[Number($("model-select").value)];
  delete $("main").dataset.model;
  state.model = model;
  if (!model) return;
  const versions = await api.listAll(`${api.modelPath(model)}/versions`, "model_versions").catch(() => []);
  state.versions = versions;
  const select = clear($("version-select"));
  const latest = model.model_version ? model.model_version.id : "";
  select.append(el("option", { value: "", text: `latest${latest ? ` (${latest.slice(0, 8)})` : ""}` }));
  for (const version of versions) {
    const status = version.status ? version.status.description : "";
    select.append(el("option", { value: version.id, text: `${version.id} · ${status}` }));
  }
  let concepts = [];
  if (isClassifier(model.model_type_id)) {
    concepts = await api.listAll(`${api.modelPath(model)}/concepts`, "concepts").catch(() => []);
  }
  options.build(model.model_type_id, concepts.map((c) => c.name || c.id));
  showModelInfo();
  const kind = isImageModel(model) ? "file" : "text";
  if (!inputs.items.length || inputs.items.some((item) => item.kind !== kind && item.kind !== "url")) {
    inputs.reset(kind);
  }
  clear($("results"));
  setStatus("Add an input and press Run.");
  updateCode();
  $("main").dataset.model = `${model.user_id}/${model.app_id}/${model.id}`;
}

function showModelInfo() {
  const model = state.model;
  const versionId = $("version-select").value;
  const version = state.versions.find((v) => v.id === versionId) || model.model_version || {};
  const info = clear($("model-info"));
  const rows = [
    ["Type", model.model_type_id],
    ["Version", `${versionId ? "" : "latest: "}${version.id || "none"}`],
    ["Version status", version.status ? `${version.status.code} ${version.status.description}` : ""],
    ["Description", model.description || model.name || ""],
  ];
  for (const [name, value] of rows) {
    info.append(el("dt", { text: name }), el("dd", { "data-field": name.toLowerCase(), text: value }));
  }
}

$("model-select").addEventListener("change", () => pickModel());
$("version-select").addEventListener("change", () => {
  showModelInfo();
  updateCode();
});

// inputs ------------------------------------------------------------------------------------

$("add-text").addEventListener("click", () => inputs.add("text"));
$("add-file").addEventListener("click", () => inputs.add("file"));
$("add-url").addEventListener("click", () => inputs.add("url"));
$("input-list").addEventListener("dragover", (event) => event.preventDefault());
$("input-list").addEventListener("drop", (event) => {
  if (event.target.closest(".drop")) return;
  event.preventDefault();
  for (const file of event.dataTransfer.files) {
    const item = inputs.add("file");
    if (item) inputs.setFile(item, file);
  }
});

// request and code --------------------------------------------------------------------------

function currentRequest() {
  const described = inputs.describe(isImageModel(state.model));
  if (described.error) return { error: described.error };
  const versionId = $("version-select").value;
  const { params, outputConfig } = options.values();
  return {
    model: state.model,
    versionId,
    modelPath: api.modelPath(state.model, versionId),
    inputs: described.inputs,
    params,
    outputConfig,
    grpcBase: grpcBase(),
    restBase: location.origin,
    key: api.getKey(),
    includeKey: $("code-key").checked,
  };
}

function updateCode() {
  if (!state.model) return;
  const req = currentRequest();
  const code = $("code");
  const note = $("code-note");
  if (req.error) {
    code.textContent = `# ${req.error}`;
    note.textContent = "";
    return;
  }
  const { code: text, why } = snippet(state.form, req);
  code.textContent = text || `# ${why}`;
  code.dataset.available = text ? "true" : "false";
  const files = req.inputs.filter((i) => i.kind === "image-file").map((i) => i.name);
  const parts = [];
  if (!req.includeKey) parts.push("Run it where CLARION_PAT holds your key (export CLARION_PAT=...)");
  if (files.length) parts.push(`in the folder that holds ${files.join(", ")}`);
  note.textContent = parts.length ? `${parts.join(", ")}.` : "";
}

function selectForm(form) {
  state.form = form;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.form === form;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected) $("code-panel").setAttribute("aria-labelledby", tab.id);
  }
  updateCode();
}

for (const tab of document.querySelectorAll('[role="tab"]')) {
  tab.addEventListener("click", () => selectForm(tab.dataset.form));
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = FORMS[(FORMS.indexOf(state.form) + step + FORMS.length) % FORMS.length];
    selectForm(next);
    document.querySelector(`[data-form="${next}"]`).focus();
  });
}

$("code-key").addEventListener("change", () => updateCode());
$("copy-code").addEventListener("click", async () => {
  const text = $("code").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents($("code"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  $("copy-code").textContent = "Copied";
  setTimeout(() => ($("copy-code").textContent = "Copy"), 1500);
});

// run / stop --------------------------------------------------------------------------------

function showRefusal(status) {
  const text = api.describe(status);
  setStatus(text, true);
  if (!options.showRefusal(text, status.details || status.description)) {
    $("options-error").textContent = text;
  }
}

async function run() {
  const req = currentRequest();
  options.clearErrors();
  if (req.error) {
    setStatus(req.error, true);
    return;
  }
  const body = requestBody(req);
  const controller = new AbortController();
  state.controller = controller;
  $("run").disabled = true;
  $("stop").disabled = !isGenerative(req.model.model_type_id);
  $("results").setAttribute("aria-busy", "true");
  try {
    if (isGenerative(req.model.model_type_id)) await runStream(req, body, controller);
    else await runPredict(req, body, controller);
  } finally {
    state.controller = null;
    $("run").disabled = false;
    $("stop").disabled = true;
    $("results").removeAttribute("aria-busy");
  }
}

async function runPredict(req, body, controller) {
  setStatus("Predicting...");
  try {
    const response = await api.call("POST", endpoint(req), body, controller.signal);
    if (!api.succeeded(response)) {
      clear($("results"));
      showRefusal(response.status);
      return;
    }
    renderPrediction($("results"), response, req.inputs);
    setStatus(api.describe(response.status), response.status.code !== api.OK);
  } catch (error) {
    setStatus(`The request failed: ${error.message}`, true);
  }
}

async function runStream(req, body, controller) {
  setStatus("Generating...");
  const view = new StreamView($("results"), req.inputs);
  let failed = null;
  try {
    const refused = await api.stream(endpoint(req), body, controller.signal, (result) => {
      if (result.status && result.status.code !== api.OK && !(result.outputs || []).length) {
        failed = result.status;
      }
      view.handle(result);
    });
    failed = failed || (refused && refused.status);
    if (failed) {
      view.refused(failed);
      showRefusal(failed);
      return;
    }
    view.stopped("The stream ended early.");
    setStatus("Done.");
  } catch (error) {
    if (controller.signal.aborted) {
      view.stopped("Stopped: the generation was cancelled.");
      setStatus("Stopped.");
    } else {
      view.stopped(`The stream broke: ${error.message}`);
      setStatus(`The stream broke: ${error.message}`, true);
    }
  }
}

$("run").addEventListener("click", () => run());
$("stop").addEventListener("click", () => {
  if (state.controller) state.controller.abort();
});

// custom models -----------------------------------------------------------------------------

const custom = new CustomModels(async (modelKey) => loadModels(modelKey));

// start -------------------------------------------------------------------------------------

async function start() {
  try {
    const response = await fetch("/playground/config.json", { cache: "no-store" });
    state.config = await response.json();
  } catch {
    // keep the defaults
  }
  if (api.getKey()) await enter();
  else showPrompt();
}

start();
