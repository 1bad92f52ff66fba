// Delivers new and changed messages: Server-Sent Events first, polling when they fail.
import { api } from "./api.js";

// How often a page polls while the event stream is down.
const POLL_INTERVAL_MS = 3000;
// How long the page polls before it tries the event stream again.
const STREAM_RETRY_MS = 30000;

export class LiveFeed extends EventTarget {
  constructor() {
    super();
    this.mode = "connecting";
    this.lastSeenId = 0;
    // The last change to a sent message this page knows of (edits, recalls, finished
    // transcodes): null until the first message list says where changes stand.
    this.lastChangeId = null;
    this.watched = null; // { conversationId, afterId } polled while the stream is down
  }

  start() {
    this.openStream();
  }

  watch(conversationId, afterId) {
    this.watched = { conversationId, afterId };
  }

  /** The messages this page shows are current up to this change. */
  followChangesFrom(changeId) {
    if (this.lastChangeId === null) this.lastChangeId = changeId;
  }

  seen(message) {
    if (message.change_id) {
      this.lastChangeId = Math.max(this.lastChangeId ?? 0, message.change_id);
      return;
    }
    this.lastSeenId = Math.max(this.lastSeenId, message.id);
    if (this.watched && message.conversation_id === this.watched.conversationId) {
      this.watched.afterId = Math.max(this.watched.afterId, message.id);
    }
  }

  openStream() {
    // What this page missed while it had no stream: new messages, then changes to others.
    const resume = new URLSearchParams();
    if (this.lastSeenId) resume.set("after_id", this.lastSeenId);
    if (this.lastChangeId !== null) resume.set("changes_after", this.lastChangeId);
    const source = new EventSource(`/api/chat/events?${resume}`);
    source.addEventListener("open", () => this.setMode("live"));
    source.addEventListener("message", (event) => this.emit("message", JSON.parse(event.data)));
    source.addEventListener("message_updated", (event) =>
      this.emit("message_updated", JSON.parse(event.data)),
    );
    // A recipient heard a voice message (not a message itself: no `seen`).
    source.addEventListener("voice_heard", (event) =>
      this.dispatchEvent(new CustomEvent("voice_heard", { detail: JSON.parse(event.data) })),
    );
    // The person read on one of their pages: not a message, so no resume position.
    source.addEventListener("conversation_read", (event) =>
      this.dispatchEvent(new CustomEvent("conversation_read", { detail: JSON.parse(event.data) })),
    );
    // The server closes a stream when its session ended (log in again) or when the
    // account opened too many (this page then polls, and tries again later).
    source.addEventListener("stream_closed", (event) => {
      source.close();
      if (JSON.parse(event.data).reason === "ended") location.assign("/login");
      else this.fallBackToPolling();
    });
    source.addEventListener("error", () => {
      // EventSource reconnects by itself after a normal end of stream; a refused
      // or broken connection ends in CLOSED, and then the page polls instead.
      if (source.readyState === EventSource.CLOSED) this.fallBackToPolling();
      else this.setMode("reconnecting");
    });
    this.source = source;
  }

  /** The network is back: open the stream now rather than after the polling period. */
  reconnect() {
    if (this.mode === "live") return;
    clearTimeout(this.pollTimer);
    this.source?.close();
    this.openStream();
  }

  fallBackToPolling() {
    this.source?.close();
    this.setMode("polling");
    const pollUntil = Date.now() + STREAM_RETRY_MS;
    const source = this.source;
    const tick = async () => {
      if (this.source !== source) return; // reconnect() opened a new stream meanwhile
      if (Date.now() > pollUntil) return this.openStream();
      await this.pollOnce().catch((failure) => {
        if (failure.status === 401) location.assign("/login");
      });
      this.pollTimer = setTimeout(tick, POLL_INTERVAL_MS);
    };
    tick();
  }

  async pollOnce() {
    if (!this.watched) return;
    const { conversationId, afterId } = this.watched;
    const query = new URLSearchParams({ conversation_id: conversationId, after_id: afterId });
    if (this.lastChangeId !== null) query.set("changes_after", this.lastChangeId);
    const data = await api(`/api/chat/messages?${query}`);
    for (const message of data.messages) this.emit("message", message);
    for (const message of data.changes ?? []) this.emit("message_updated", message);
    this.followChangesFrom(data.last_change_id);
  }

  emit(type, message) {
    this.seen(message);
    this.dispatchEvent(new CustomEvent(type, { detail: message }));
  }

  setMode(mode) {
    this.mode = mode;
    this.dispatchEvent(new CustomEvent("mode", { detail: mode }));
  }
}
