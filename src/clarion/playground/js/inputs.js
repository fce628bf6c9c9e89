// The inputs list: texts, image files (pick or drag and drop) and URLs; several = a batch.

import { clear, el, readBase64 } from "./dom.js";

const MAX_INPUTS = 128;

export class InputList {
  constructor(root, onChange) {
    this.root = root;
    this.onChange = onChange;
    this.items = [];
    this.counter = 0;
  }

  add(kind, value = "") {
    if (this.items.length >= MAX_INPUTS) return null;
    this.counter += 1;
    const item = { id: `input-${this.counter}`, kind, value, file: null };
    this.items.push(item);
    this.render();
    const focus = this.root.querySelector(`[data-input="${item.id}"] textarea, [data-input="${item.id}"] input`);
    if (focus) focus.focus();
    this.onChange();
    return item;
  }

  reset(kind) {
    this.items = [];
    this.counter = 0;
    this.add(kind);
  }

  remove(id) {
    this.items = this.items.filter((item) => item.id !== id);
    this.render();
    this.onChange();
  }

  async setFile(item, file) {
    const base64 = await readBase64(file);
    item.file = { name: file.name, type: file.type, base64, preview: URL.createObjectURL(file) };
    this.render();
    this.onChange();
  }

  render() {
    clear(this.root);
    this.items.forEach((item, index) => this.root.append(this.row(item, index)));
  }

  row(item, index) {
    const label = `Input ${index + 1}`;
    const remove = el("button", {
      type: "button",
      class: "remove",
      "aria-label": `Remove ${label.toLowerCase()}`,
      text: "Remove",
    });
    remove.addEventListener("click", () => this.remove(item.id));
    let body;
    const controlId = `${item.id}-value`;
    if (item.kind === "text") {
      body = el("textarea", { id: controlId, rows: "3", class: "input-text", placeholder: "Type a text or a prompt" });
      body.value = item.value;
      body.addEventListener("input", () => {
        item.value = body.value;
        this.onChange();
      });
    } else if (item.kind === "url") {
      const url = el("input", {
        id: controlId,
        type: "url",
        class: "input-url",
        placeholder: "https://example.com/cat.jpg",
      });
      url.value = item.value;
      url.addEventListener("input", () => {
        item.value = url.value.trim();
        this.onChange();
      });
      const kind = el(
        "select",
        { class: "url-kind", "aria-label": `What the URL of ${label.toLowerCase()} holds` },
        el("option", { value: "", text: "as the model takes" }),
        el("option", { value: "image", text: "an image" }),
        el("option", { value: "text", text: "a text" }),
      );
      kind.value = item.urlKind || "";
      kind.addEventListener("change", () => {
        item.urlKind = kind.value;
        this.onChange();
      });
      body = el("div", { class: "row url-row" }, url, kind);
    } else {
      body = this.dropZone(item, controlId);
    }
    const kindName = { text: "text", url: "URL", file: "image file" }[item.kind];
    return el(
      "li",
      { class: "input-row", "data-input": item.id, "data-kind": item.kind },
      el("div", { class: "row spread" }, el("label", { for: controlId, text: `${label} (${kindName})` }), remove),
      body,
    );
  }

  dropZone(item, controlId) {
    const picker = el("input", {
      id: controlId,
      type: "file",
      accept: "image/*",
      class: item.file ? "input-file has-file" : "input-file",
      "aria-describedby": `${controlId}-name`,
    });
    picker.addEventListener("change", () => {
      if (picker.files && picker.files[0]) this.setFile(item, picker.files[0]);
    });
    const zone = el(
      "div",
      { class: "drop" },
      el("p", {
        class: "hint",
        id: `${controlId}-name`,
        text: item.file
          ? `${item.file.name} (drop or choose another to replace it)`
          : "Drop an image here or choose a file",
      }),
      picker,
      item.file ? el("img", { src: item.file.preview, alt: `Preview of ${item.file.name}`, class: "preview" }) : null,
    );
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const file = event.dataTransfer.files[0];
      if (file) this.setFile(item, file);
    });
    return zone;
  }

  /** What the request will carry, or a sentence saying what is missing. */
  describe(imageModel) {
    const inputs = [];
    for (const [index, item] of this.items.entries()) {
      const id = `input-${index + 1}`; // as the rows are numbered on screen
      if (item.kind === "text") {
        if (!item.value) return { error: `Input ${index + 1} is empty: type a text.` };
        inputs.push({ id, kind: "text", text: item.value });
      } else if (item.kind === "url") {
        if (!item.value) return { error: `Input ${index + 1} has no URL.` };
        const image = item.urlKind ? item.urlKind === "image" : imageModel;
        inputs.push({ id, kind: image ? "image-url" : "text-url", url: item.value });
      } else {
        if (!item.file) return { error: `Input ${index + 1} has no image: drop or choose one.` };
        inputs.push({ id, kind: "image-file", name: item.file.name, base64: item.file.base64 });
      }
    }
    if (!inputs.length) return { error: "Add an input first." };
    return { inputs };
  }
}

/** The Clarifai JSON of one described input. */
export function inputJson(input) {
  if (input.kind === "text") return { id: input.id, data: { text: { raw: input.text } } };
  if (input.kind === "image-url") return { id: input.id, data: { image: { url: input.url } } };
  if (input.kind === "text-url") return { id: input.id, data: { text: { url: input.url } } };
  return { id: input.id, data: { image: { base64: input.base64 } } };
}
