// JSON calls to the Natter API; every state-changing call carries the CSRF token.
import { _ } from "../i18n.js";

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

/** `timeoutMs`: give up on an answer after this long (then status 0, as a network failure). */
export async function api(path, { method = "GET", body, timeoutMs } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
    });
  } catch {
    throw new ApiError(0, _("The network connection failed."), "network");
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    // A success whose body broke off is an answer that did not come.
    if (response.ok) throw new ApiError(0, _("The network connection failed."), "network");
  }
  if (!response.ok) {
    // A proxy's 502/503/504 page has no JSON: say what it means rather than a number.
    const fallback =
      response.status >= 500
        ? _("The server is not answering right now; try again in a moment.")
        : _("The request failed (%(status)s).", { status: response.status });
    const message = data.error || fallback;
    throw new ApiError(response.status, message, data.code);
  }
  return data;
}
