// Text messages on their way: sent one at a time in the order written, each with its key,
// and sent again (same key) after a network failure, a lost answer or a 5xx, until the
// server answers. The network or the event stream coming back tries again at once.
import { isRetryable, newClientId, retryDelay } from "../client-keys.js";
import { api } from "./api.js";

// A send with no answer after this long counts as lost (a connection that died unseen).
const SEND_TIMEOUT_MS = 20000;

export class Outbox {
  /** `onSent(message, entry)` once stored; `onFailed(entry, failure)` when the server refused it. */
  constructor({ onSent, onFailed }) {
    this.onSent = onSent;
    this.onFailed = onFailed;
    this.queue = [];
    this.inFlight = false;
    this.timer = null;
    this.attempt = 0;
    this.onOnline = () => this.retryNow();
    window.addEventListener("online", this.onOnline);
  }

  /** Queues a message; the entry (with its clientId) shows as "sending…" until settled. */
  send(conversationId, content) {
    const entry = { clientId: newClientId(), conversationId, content, createdAt: new Date().toISOString() };
    this.queue.push(entry);
    this.pump();
    return entry;
  }

  waitingIn(conversationId) {
    return this.queue.filter((entry) => entry.conversationId === conversationId);
  }

  /** The connection is back: the waiting send goes now rather than after its backoff. */
  retryNow() {
    if (this.inFlight || !this.queue.length) return;
    clearTimeout(this.timer);
    this.pump();
  }

  async pump() {
    const entry = this.queue[0];
    if (!entry || this.inFlight) return;
    this.inFlight = true;
    try {
      const body = { conversation_id: entry.conversationId, content: entry.content, client_id: entry.clientId };
      const message = await api("/api/chat/messages", { method: "POST", body, timeoutMs: SEND_TIMEOUT_MS });
      this.settle();
      this.onSent(message, entry);
    } catch (failure) {
      if (isRetryable(failure.status)) {
        this.inFlight = false;
        this.timer = setTimeout(() => this.pump(), retryDelay(this.attempt));
        this.attempt += 1;
        return;
      }
      this.settle();
      this.onFailed(entry, failure);
    }
    this.pump();
  }

  settle() {
    this.queue.shift();
    this.inFlight = false;
    this.attempt = 0;
  }

  destroy() {
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
  }
}
