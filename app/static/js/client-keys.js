// Sends that survive a lost answer: a key per message (the API's client_id), and when to try
// again. The server stores a message once whatever the number of tries with its key.

// The first retry waits this long, each next one twice as long, never more than the last.
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 30000;

/** A new random key (RFC 4122 version 4). crypto.randomUUID needs HTTPS; this does not. */
export function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}

// The server's disk is full: nothing was stored and nothing will be until an operator makes
// room, so the person is told now (and keeps the recording) instead of waiting on retries.
const INSUFFICIENT_STORAGE = 507;

/** No answer (0) or a server-side failure: the send may or may not be stored; try again.
 * A 4xx, or a 507, is the server's final word on this send. */
export function isRetryable(status) {
  return status === 0 || (status >= 500 && status !== INSUFFICIENT_STORAGE);
}

/** How long to wait before try number `attempt` + 1 (jittered, so pages do not march together). */
export function retryDelay(attempt) {
  const base = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt);
  return Math.round(base * (0.75 + Math.random() / 2));
}
