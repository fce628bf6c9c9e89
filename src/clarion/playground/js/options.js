// The options panel, built from the model type. Controls left empty are not sent, so the
// server's defaults apply; values are sent as typed and the server decides what is valid.

import { clear, el } from "./dom.js";

const GENERATION = [
  { name: "max_tokens", kind: "int", range: "1 to 4096, at most the context left", def: "256", slider: [1, 4096, 1] },
  { name: "temperature", kind: "float", range: "0 to 2", def: "0.7", step: "0.05", slider: [0, 2, 0.05] },
  { name: "top_p", kind: "float", range: "(0, 1]; 1 turns it off", def: "0.95", step: "0.01", slider: [0.01, 1, 0.01] },
  { name: "top_k", kind: "int", range: ">= 0; 0 off, 1 greedy", def: "40", slider: [0, 200, 1] },
  { name: "do_sample", kind: "bool", range: "false = greedy decoding", def: "true" },
  { name: "num_beams", kind: "int", range: "1 to 8; 2+ = beam search", def: "1", slider: [1, 8, 1] },
  {
    name: "reasoning_effort",
    kind: "choice",
    choices: ["low", "medium", "high"],
    range: "medium / high: a reasoning pass first",
    def: "low",
  },
  { name: "return_full_text", kind: "bool", range: "prompt followed by the answer", def: "false" },
  { name: "system_prompt", kind: "multiline", range: "the system turn", def: "none" },
  {
    name: "prompt_template",
    kind: "multiline",
    range: "raw text; must contain {prompt}",
    def: "the chat template",
  },
  { name: "seed", kind: "int", range: "any integer; repeats a sampled answer", def: "random" },
  { name: "stop", kind: "lines", range: "one per line, up to 8", def: "none" },
];

const CLASSIFIER = [
  { name: "min_value", kind: "float", range: "0 to 1", def: "0", step: "0.01", config: true, slider: [0, 1, 0.01] },
  { name: "max_concepts", kind: "int", range: "1 to 200", def: "20", config: true, slider: [1, 200, 1] },
  {
    name: "select_concepts",
    kind: "concepts",
    range: "exact names; only these are returned",
    def: "all",
    config: true,
  },
];

export function isGenerative(type) {
  return type === "text-to-text";
}

export function isClassifier(type) {
  return /classifier$/.test(type || "") || type === "embedding-classifier";
}

export function specsFor(type) {
  if (isGenerative(type)) return GENERATION;
  if (isClassifier(type)) return CLASSIFIER;
  return [];
}

export class OptionsPanel {
  constructor(root, onChange) {
    this.root = root;
    this.onChange = onChange;
    this.specs = [];
    this.controls = new Map();
    this.selected = [];
    this.conceptNames = [];
  }

  build(type, conceptNames = []) {
    clear(this.root);
    this.specs = specsFor(type);
    this.controls.clear();
    this.selected = [];
    this.conceptNames = conceptNames;
    this.general = el("p", { class: "error", id: "options-error", role: "alert" });
    this.root.append(this.general);
    if (!this.specs.length) {
      this.root.append(el("p", { class: "hint", text: `A ${type || "model"} takes no options.` }));
      return;
    }
    const grid = el("div", { class: "options-grid" });
    for (const spec of this.specs) grid.append(this.control(spec));
    this.root.append(grid);
  }

  control(spec) {
    const id = `opt-${spec.name}`;
    const help = el("small", { class: "hint", id: `${id}-help`, text: `${spec.range} · default ${spec.def}` });
    const error = el("p", { class: "error field-error", id: `${id}-error`, role: "alert" });
    const describedBy = `${id}-help ${id}-error`;
    let input;
    let extra = null;
    if (spec.kind === "bool" || spec.kind === "choice") {
      const values = spec.kind === "bool" ? ["true", "false"] : spec.choices;
      input = el(
        "select",
        { id, "aria-describedby": describedBy },
        el("option", { value: "", text: `default (${spec.def})` }),
        values.map((v) => el("option", { value: v, text: v })),
      );
    } else if (spec.kind === "multiline" || spec.kind === "lines") {
      input = el("textarea", { id, rows: "2", "aria-describedby": describedBy, placeholder: spec.def });
    } else if (spec.kind === "concepts") {
      input = el("input", {
        id,
        list: "concept-names",
        autocomplete: "off",
        "aria-describedby": describedBy,
        placeholder: "type a concept name, Enter adds it",
      });
      const list = el("datalist", { id: "concept-names" });
      for (const name of this.conceptNames) list.append(el("option", { value: name }));
      this.chips = el("ul", { class: "chips", id: `${id}-chips`, "aria-label": "Selected concepts" });
      const add = el("button", { type: "button", id: `${id}-add`, text: "Add" });
      add.addEventListener("click", () => this.addConcept(input));
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          this.addConcept(input);
        }
      });
      extra = el("div", {}, el("div", { class: "row" }, add), list, this.chips);
    } else {
      input = el("input", {
        id,
        type: "number",
        step: spec.kind === "int" ? "1" : spec.step || "any",
        inputmode: spec.kind === "int" ? "numeric" : "decimal",
        placeholder: spec.def,
        "aria-describedby": describedBy,
      });
      if (spec.slider) extra = this.slider(spec, input);
    }
    input.addEventListener("input", () => {
      this.clearError(spec.name);
      if (spec.name === "prompt_template") this.checkTemplate(input);
      this.onChange();
    });
    input.addEventListener("change", () => this.onChange());
    this.controls.set(spec.name, { spec, input, error });
    return el(
      "div",
      { class: "field option", "data-option": spec.name },
      el("label", { for: id }, el("code", { text: spec.name })),
      input,
      extra,
      help,
      error,
    );
  }

  /** A range control beside the number box: moving it sets the number (and so sends it). */
  slider(spec, input) {
    const [min, max, step] = spec.slider;
    const range = el("input", {
      type: "range",
      id: `opt-${spec.name}-slider`,
      min,
      max,
      step,
      value: spec.def,
      "aria-label": `${spec.name} slider`,
    });
    range.addEventListener("input", () => {
      input.value = range.value;
      this.clearError(spec.name);
      this.onChange();
    });
    input.addEventListener("input", () => {
      if (input.value !== "" && Number.isFinite(Number(input.value))) range.value = input.value;
    });
    return range;
  }

  checkTemplate(input) {
    const control = this.controls.get("prompt_template");
    if (input.value && !input.value.includes("{prompt}")) {
      control.error.textContent = "The template must contain {prompt}: the input goes there.";
    }
  }

  addConcept(input) {
    const name = input.value.trim();
    if (!name || this.selected.includes(name)) return;
    this.selected.push(name);
    input.value = "";
    this.renderChips();
    this.clearError("select_concepts");
    this.onChange();
  }

  renderChips() {
    clear(this.chips);
    for (const name of this.selected) {
      const remove = el("button", { type: "button", "aria-label": `Remove ${name}`, text: "×" });
      remove.addEventListener("click", () => {
        this.selected = this.selected.filter((n) => n !== name);
        this.renderChips();
        this.onChange();
      });
      this.chips.append(el("li", { class: "chip", "data-concept": name }, el("span", { text: name }), remove));
    }
  }

  /** {params, outputConfig}: only the controls that were set. */
  values() {
    const params = {};
    const outputConfig = {};
    for (const { spec, input } of this.controls.values()) {
      const target = spec.config ? outputConfig : params;
      if (spec.kind === "concepts") {
        if (this.selected.length) target[spec.name] = this.selected.map((name) => ({ name }));
        continue;
      }
      const raw = input.value;
      if (raw === "" || raw === undefined) continue;
      if (spec.kind === "int" || spec.kind === "float") {
        const number = Number(raw);
        target[spec.name] = Number.isFinite(number) ? number : raw;
      } else if (spec.kind === "bool") {
        target[spec.name] = raw === "true";
      } else if (spec.kind === "lines") {
        const lines = raw.split("\n").filter((line) => line !== "");
        if (lines.length) target[spec.name] = lines.length === 1 ? lines[0] : lines;
      } else {
        target[spec.name] = raw;
      }
    }
    return { params, outputConfig };
  }

  clearError(name) {
    const control = this.controls.get(name);
    if (control) control.error.textContent = "";
  }

  clearErrors() {
    this.general.textContent = "";
    for (const name of this.controls.keys()) this.clearError(name);
  }

  /** Put the server's refusal next to the control it names; true when one matched. */
  showRefusal(text, details) {
    const names = [...this.controls.keys()].sort((a, b) => b.length - a.length);
    const named = names.find((name) => new RegExp(`\\b${name}\\b`).test(details || ""));
    if (named) {
      this.controls.get(named).error.textContent = text;
      return true;
    }
    return false;
  }
}
