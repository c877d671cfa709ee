// The management API client: the bearer token kept in this browser session, JSON in and out,
// and the `{"errors": [...]}` envelope turned into an ApiError the pages can show.

const TOKEN_KEY = "headrace.token";
export const API_PREFIX = "/api/v1";

export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((e) => e.message).join(" "));
    this.status = status;
    this.errors = errors;
  }

  /** The error about one input field (`code`, `settings.apiKey`, `if`, ...), if any. */
  forField(field) {
    return this.errors.find((e) => e.field === field) || null;
  }

  /** Errors whose field starts with `prefix` (a whole form section). */
  forPrefix(prefix) {
    return this.errors.filter((e) => e.field && e.field.startsWith(prefix));
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

let onUnauthorized = () => {};

/** Called when the token stops working mid-session (revoked, member deleted). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** One request to `/api/v1{path}`; the answer's `data`, or an ApiError. */
export async function request(method, path, body, { token = getToken() } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API_PREFIX + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, [
      { type: "network", message: "headrace did not answer. Is `headrace serve` still running?" },
    ]);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const errors =
      payload && Array.isArray(payload.errors) && payload.errors.length
        ? payload.errors
        : [{ type: "http-error", message: `headrace answered ${response.status}.` }];
    if (response.status === 401 && token === getToken()) onUnauthorized(errors);
    throw new ApiError(response.status, errors);
  }
  return payload ? payload.data : null;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body = {}) => request("POST", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
};

/** Query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
