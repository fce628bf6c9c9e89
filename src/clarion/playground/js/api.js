// Calls to Clarion's own REST API. The key lives in this tab's session storage only.

const KEY_NAME = "clarion.playground.key";
export const OK = 10000;
export const MIXED = 10010;

export function getKey() {
  return sessionStorage.getItem(KEY_NAME) || "";
}

export function setKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}

function enc(part) {
  return encodeURIComponent(part);
}

/** The REST path of a model, or of one of its versions. */
export function modelPath(model, versionId) {
  let path = `/v2/users/${enc(model.user_id)}/apps/${enc(model.app_id)}/models/${enc(model.id)}`;
  if (versionId) path += `/versions/${enc(versionId)}`;
  return path;
}

export function appPath(userId, appId) {
  return `/v2/users/${enc(userId)}/apps/${enc(appId)}`;
}

function headers(withBody) {
  const h = { Authorization: `Key ${getKey()}`, Accept: "application/json" };
  if (withBody) h["Content-Type"] = "application/json";
  return h;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return {
      status: { code: response.status, description: response.statusText || "Bad response" },
    };
  }
}

/** One call; resolves to the response body, whose `status` tells the outcome. */
export async function call(method, path, body, signal) {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: "omit",
    cache: "no-store",
  });
  return readJson(response);
}

export function succeeded(body) {
  const code = body && body.status ? body.status.code : 0;
  return code === OK || code === MIXED;
}

/** Every page of a listing (`field` names the list in each page), up to `limit` items. */
export async function listAll(path, field, limit = 5000) {
  const items = [];
  for (let page = 1; items.length < limit; page += 1) {
    const sep = path.includes("?") ? "&" : "?";
    const body = await call("GET", `${path}${sep}page=${page}&per_page=1000`);
    if (!succeeded(body)) throw new ApiError(body.status);
    const found = body[field] || [];
    items.push(...found);
    if (found.length < 1000) break;
  }
  return items;
}

export class ApiError extends Error {
  constructor(status) {
    super(describe(status));
    this.status = status || {};
  }
}

/** "21202 Invalid model argument: min_value must be within [0, 1], got 1.5." */
export function describe(status) {
  if (!status) return "No status in the response.";
  let text = `${status.code} ${status.description || ""}`.trim();
  if (status.details) text += `: ${status.details}`;
  return text;
}

/**
 * A streaming call (newline-delimited JSON, one {"result": ...} per line). `onResult` gets
 * each result; resolves to the error body when the server refused the request at once.
 */
export async function stream(path, body, signal, onResult) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers(true),
    body: JSON.stringify(body),
    signal,
    credentials: "omit",
    cache: "no-store",
  });
  if (!response.ok) return readJson(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (line) onResult(JSON.parse(line).result);
    }
  }
  if (buffer.trim()) onResult(JSON.parse(buffer).result);
  return null;
}
