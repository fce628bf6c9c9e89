// "Copy as code": the request on screen in four forms that run unchanged against this server.

import { inputJson } from "./inputs.js";
import { isClassifier, isGenerative } from "./options.js";

export const FORMS = ["clarifai", "clarion", "curl", "openai"];

/** A JSON value as a Python literal. */
export function py(value, indent = "") {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => py(v, indent)).join(", ")}]`;
  const entries = Object.entries(value);
  if (entries.every(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))) {
    return `dict(${entries.map(([k, v]) => `${k}=${py(v, indent)}`).join(", ")})`;
  }
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${py(v, indent)}`).join(", ")}}`;
}

function shellQuote(text) {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** The request body the page sends (and curl sends). */
export function requestBody(req) {
  const body = { inputs: req.inputs.map(inputJson) };
  const outputInfo = {};
  if (Object.keys(req.params).length) outputInfo.params = req.params;
  if (Object.keys(req.outputConfig).length) outputInfo.output_config = req.outputConfig;
  if (Object.keys(outputInfo).length) body.model = { model_version: { output_info: outputInfo } };
  return body;
}

export function endpoint(req) {
  return `${req.modelPath}${isGenerative(req.model.model_type_id) ? "/outputs/generate" : "/outputs"}`;
}

function pat(req) {
  return req.includeKey ? JSON.stringify(req.key) : 'os.environ["CLARION_PAT"]';
}

function options(req) {
  const parts = [];
  if (Object.keys(req.params).length) parts.push(`inference_params=${py(req.params)}`);
  if (!isGenerative(req.model.model_type_id) && Object.keys(req.outputConfig).length) {
    parts.push(`output_config=${py(req.outputConfig)}`);
  }
  return parts;
}

function inputKindName(input) {
  return input.kind === "text" || input.kind === "text-url" ? "text" : "image";
}

function singleCall(req, verb) {
  const input = req.inputs[0];
  const args = [];
  if (input.kind === "text") args.push(`${py(input.text)}.encode()`);
  else if (input.kind === "image-file") args.push(py(input.name));
  else args.push(py(input.url));
  args.push(py(inputKindName(input)), ...options(req));
  const by = { text: "bytes", "image-file": "filepath" }[input.kind] || "url";
  return `model.${verb}_by_${by}(${args.join(", ")})`;
}

function inputList(req) {
  const lines = req.inputs.map((input) => {
    const id = py(input.id);
    if (input.kind === "text") return `    Inputs.get_input_from_bytes(${id}, text_bytes=${py(input.text)}.encode()),`;
    if (input.kind === "image-file") return `    Inputs.get_input_from_file(${id}, image_file=${py(input.name)}),`;
    const field = input.kind === "image-url" ? "image_url" : "text_url";
    return `    Inputs.get_input_from_url(${id}, ${field}=${py(input.url)}),`;
  });
  return ["inputs = [", ...lines, "]"];
}

function printing(req) {
  const type = req.model.model_type_id;
  const many = req.inputs.length > 1;
  const lines = ["for output in prediction.outputs:"];
  if (many) lines.push('    print(output.input.id, output.status.code, output.status.description)');
  if (isClassifier(type)) {
    lines.push("    for concept in output.data.concepts:");
    lines.push('        print(f"{concept.name}: {concept.value:.4f}")');
  } else if (/embedder$/.test(type)) {
    lines.push("    vector = output.data.embeddings[0].vector");
    lines.push('    print(len(vector), "dimensions:", [round(v, 4) for v in vector[:8]])');
  } else {
    lines.push("    print(output.data)");
  }
  return lines;
}

/** "/user/app/models/id[/versions/v]", as both SDKs' model URLs end. */
function modelUrlPath(req) {
  const { user_id: user, app_id: app, id } = req.model;
  return `/${user}/${app}/models/${id}${req.versionId ? `/versions/${req.versionId}` : ""}`;
}

function pythonSdk(req, flavour) {
  const generative = isGenerative(req.model.model_type_id);
  const many = req.inputs.length > 1;
  const lines = ["import os", ""];
  if (flavour === "clarifai") {
    if (many) lines.push("from clarifai.client.input import Inputs");
    lines.push("from clarifai.client.model import Model", "");
    lines.push("model = Model(");
    lines.push(`    url=${py(`https://clarifai.com${modelUrlPath(req)}`)},`);
  } else {
    lines.push(many ? "from clarion.client import Inputs, Model" : "from clarion.client import Model", "");
    lines.push("model = Model(");
    lines.push(`    url=${py(`${req.grpcBase}${modelUrlPath(req)}`)},`);
  }
  lines.push(`    pat=${pat(req)},`, `    base_url=${py(req.grpcBase)},`, ")");
  if (many) lines.push(...inputList(req));
  if (generative) {
    const call = many ? `model.generate(${["inputs", ...options(req)].join(", ")})` : singleCall(req, "generate");
    lines.push(`for response in ${call}:`);
    lines.push("    for output in response.outputs:");
    if (many) lines.push("        print(output.input.id, repr(output.data.text.raw))");
    else lines.push('        print(output.data.text.raw, end="", flush=True)');
    if (!many) lines.push("print()");
  } else {
    const call = many ? `model.predict(${["inputs", ...options(req)].join(", ")})` : singleCall(req, "predict");
    lines.push(`prediction = ${call}`, ...printing(req));
  }
  return lines.join("\n");
}

function curl(req) {
  const body = requestBody(req);
  const url = `${req.restBase}${endpoint(req)}`;
  const key = req.includeKey ? req.key : "$CLARION_PAT";
  const flags = isGenerative(req.model.model_type_id) ? "-sN" : "-s";
  const head = [
    `curl ${flags} ${url} \\`,
    `  -H "Authorization: Key ${key}" \\`,
    "  -H 'Content-Type: application/json' \\",
  ];
  const files = req.inputs.filter((input) => input.kind === "image-file");
  if (!files.length) return [...head, `  -d ${shellQuote(JSON.stringify(body))}`].join("\n");
  // Image files are read (base64) when the command runs, so the body stays small here.
  const marker = "\u0000FILE\u0000";
  body.inputs.forEach((input, index) => {
    if (req.inputs[index].kind === "image-file") input.data.image.base64 = marker;
  });
  const pieces = JSON.stringify(body).split(JSON.stringify(marker));
  const parts = [`printf '%s' ${shellQuote(pieces[0] + '"')}`];
  files.forEach((file, index) => {
    parts.push(`base64 -w0 ${shellQuote(file.name)}`);
    parts.push(`printf '%s' ${shellQuote(`"${pieces[index + 1]}${index + 1 < files.length ? '"' : ""}`)}`);
  });
  return [`{ ${parts.join("; ")}; } | \\`, ...head, "  --data-binary @-"].join("\n");
}

const OPENAI_PARAMS = new Set([
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "seed",
  "stop",
  "reasoning_effort",
  "system_prompt",
]);

function openaiModel(req) {
  const builtin = req.model.user_id === "clarion" && req.model.app_id === "main";
  const name = builtin ? req.model.id : `${req.model.user_id}/${req.model.app_id}/${req.model.id}`;
  return req.versionId ? `${name}:${req.versionId}` : name;
}

/** The openai SDK form, or null and the reason it has none. */
function openai(req) {
  const type = req.model.model_type_id;
  const head = [
    "import os",
    "",
    "from openai import OpenAI",
    "",
    `client = OpenAI(base_url=${py(`${req.restBase}/v1`)}, api_key=${pat(req)})`,
  ];
  if (type !== "text-embedder" && !isGenerative(type)) {
    return { code: null, why: `The OpenAI API has no route for a ${type} model.` };
  }
  const texts = req.inputs.filter((input) => input.kind === "text").map((input) => input.text);
  if (texts.length !== req.inputs.length) {
    return { code: null, why: "The OpenAI routes take texts only; this request has URL inputs." };
  }
  if (type === "text-embedder") {
    return {
      code: [
        ...head,
        `result = client.embeddings.create(model=${py(openaiModel(req))}, input=${py(texts)})`,
        "for item in result.data:",
        '    print(len(item.embedding), "dimensions:", [round(v, 4) for v in item.embedding[:8]])',
      ].join("\n"),
    };
  }
  const unsupported = Object.keys(req.params).filter((name) => !OPENAI_PARAMS.has(name));
  if (unsupported.length) {
    return { code: null, why: `The chat completions route has no ${unsupported.join(", ")}; use another form.` };
  }
  const { system_prompt: system, top_k: topK, ...rest } = req.params;
  const args = [`model=${py(openaiModel(req))}`];
  const messages = [];
  if (system !== undefined) messages.push(`{"role": "system", "content": ${py(system)}}`);
  messages.push('{"role": "user", "content": prompt}');
  args.push(`messages=[${messages.join(", ")}]`);
  for (const [name, value] of Object.entries(rest)) args.push(`${name}=${py(value)}`);
  if (topK !== undefined) args.push(`extra_body={"top_k": ${py(topK)}}`);
  args.push("stream=True");
  return {
    code: [
      ...head,
      `for prompt in ${py(texts)}:`,
      "    stream = client.chat.completions.create(",
      ...args.map((arg) => `        ${arg},`),
      "    )",
      "    for chunk in stream:",
      '        print(chunk.choices[0].delta.content or "", end="", flush=True)',
      "    print()",
    ].join("\n"),
  };
}

/** {code, why}: the snippet of one form for the request on screen. */
export function snippet(form, req) {
  if (form === "clarifai") return { code: pythonSdk(req, "clarifai") };
  if (form === "clarion") return { code: pythonSdk(req, "clarion") };
  if (form === "curl") return { code: curl(req) };
  return openai(req);
}
