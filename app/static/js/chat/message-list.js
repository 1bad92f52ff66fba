// The open conversation's history: messages oldest first with date separators; scrolling
// to the top loads the page before the oldest one (keyset, before_id) without moving what
// the person was reading; a button jumps back to the latest when they scrolled up.
import { _, formatDateTime, formatTime } from "../i18n.js";
import { dayKey, dayLabel } from "./dates.js";

// Messages per page, the API's default page size too.
export const PAGE_SIZE = 50;
// Closer than this to the top loads the older page, before the person reaches the end.
const LOAD_MARGIN_PX = 200;
// Closer than this to the bottom counts as "at the latest" (new messages follow it).
const BOTTOM_SLACK_PX = 80;

export class MessageList {
  /**
   * `renderBody(message, item)` returns a message's body element (text, voice player);
   * `decorate(item, message)` adds what goes around it (marks, edit and recall buttons);
   * `loadOlder(beforeId)` resolves to the page of messages before that id, oldest first.
   */
  constructor(element, { myId, renderBody, decorate, loadOlder }) {
    this.element = element;
    this.myId = myId;
    this.renderBody = renderBody;
    this.loadOlder = loadOlder;
    this.rendered = new Map();
    this.waiting = new Map(); // client id -> the "sending…" item of a message not yet stored
    this.decorate = decorate ?? (() => {});
    this.generation = 0;
    this.hasMore = false;
    this.loading = false;
    this.jump = document.createElement("button");
    this.jump.type = "button";
    this.jump.className = "jump-latest";
    this.jump.textContent = "↓ " + _("Latest messages");
    this.jump.hidden = true;
    this.jump.addEventListener("click", () => this.scrollToLatest());
    element.after(this.jump);
    this.onScroll = () => this.scrolled();
    element.addEventListener("scroll", this.onScroll, { passive: true });
  }

  /** Empties the list for another conversation; pages still loading are dropped. */
  reset() {
    this.generation += 1;
    this.rendered.forEach((item) => item.voicePlayer?.destroy());
    this.rendered.clear();
    this.waiting.clear();
    this.element.replaceChildren();
    this.hasMore = false;
    this.loading = false;
    this.jump.hidden = true;
  }

  has(id) {
    return this.rendered.has(id);
  }

  voicePlayer(id) {
    return this.rendered.get(id)?.voicePlayer ?? null;
  }

  newestId() {
    return Math.max(0, ...this.rendered.keys());
  }

  oldestId() {
    return this.rendered.size ? Math.min(...this.rendered.keys()) : 0;
  }

  /** The latest page of a conversation just opened. */
  showLatest(messages) {
    this.hasMore = messages.length >= PAGE_SIZE;
    const fresh = messages.filter((message) => !this.rendered.has(message.id));
    this.element.append(...fresh.map((message) => this.build(message)));
    this.placeSeparators();
    this.scrollToLatest();
    this.scrolled();
  }

  /** A message this page is sending (an Outbox entry): shown as "sending…" until stored. */
  addWaiting(entry) {
    const stored = [...this.rendered.values()].some((item) => item.dataset.clientId === entry.clientId);
    if (stored || this.waiting.has(entry.clientId)) return;
    const item = document.createElement("li");
    item.classList.add("mine", "waiting");
    item.dataset.clientId = entry.clientId;
    item.dataset.createdAt = entry.createdAt;
    const meta = document.createElement("div");
    meta.className = "meta";
    const state = document.createElement("span");
    state.className = "sending";
    state.setAttribute("role", "status");
    state.textContent = _("Sending…");
    meta.append(state);
    const body = document.createElement("div");
    body.className = "body";
    body.textContent = entry.content;
    item.append(meta, body);
    this.waiting.set(entry.clientId, item);
    this.element.append(item);
    this.scrollToLatest();
  }

  /** The server refused a message this page was sending: its "sending…" item goes. */
  dropWaiting(clientId) {
    this.waiting.get(clientId)?.remove();
    this.waiting.delete(clientId);
  }

  /** A new message (live, or sent here), or a changed one (a transcode finished). */
  add(message) {
    if (message.client_id) this.dropWaiting(message.client_id);
    const existing = this.rendered.get(message.id);
    if (existing?.voicePlayer && !message.recalled_at) {
      // A voice message's files changed: keep its player (and playback), new sources.
      existing.voicePlayer.update(message.content);
      return;
    }
    existing?.voicePlayer?.destroy(); // recalled: its player stops and lets go
    const follow = this.atLatest() || message.sender_id === this.myId;
    const item = this.build(message);
    if (existing) {
      existing.replaceWith(item);
      return;
    }
    // An older message arriving after a newer one (a stream's resume replays what one
    // server process delivered only locally during a fault) takes its place by id.
    const later = this.firstStoredAfter(message.id);
    if (later) {
      later.before(item);
      this.placeSeparators();
    } else {
      this.placeNewest(item, message.created_at);
    }
    if (follow) this.scrollToLatest();
    else this.jump.hidden = false;
  }

  /** Stored messages go above those still sending (which are the newest). */
  placeNewest(item, createdAt) {
    const firstWaiting = this.waiting.values().next().value;
    const last = firstWaiting ? firstWaiting.previousElementSibling : this.element.lastElementChild;
    const place = (part) => (firstWaiting ? firstWaiting.before(part) : this.element.append(part));
    if (!last || dayKey(last.dataset.createdAt) !== dayKey(createdAt)) place(this.separator(createdAt));
    place(item);
  }

  firstStoredAfter(id) {
    let nextId = Infinity;
    for (const otherId of this.rendered.keys()) if (otherId > id && otherId < nextId) nextId = otherId;
    return this.rendered.get(nextId) ?? null;
  }

  build(message) {
    const item = document.createElement("li");
    item.className = message.sender_id === this.myId ? "mine" : "theirs";
    item.dataset.messageId = message.id;
    if (message.client_id) item.dataset.clientId = message.client_id;
    item.dataset.type = message.type;
    item.dataset.createdAt = message.created_at;
    const meta = document.createElement("div");
    meta.className = "meta";
    const sender = document.createElement("span");
    sender.className = "sender";
    sender.textContent = message.sender_display_name ?? message.sender;
    sender.title = `@${message.sender}`;
    const time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = formatTime(message.created_at);
    time.title = formatDateTime(message.created_at);
    meta.append(sender, " · ", time);
    item.append(meta, this.renderBody(message, item));
    this.decorate(item, message);
    this.rendered.set(message.id, item);
    return item;
  }

  separator(createdAt) {
    const item = document.createElement("li");
    item.className = "day";
    const label = document.createElement("time");
    label.dateTime = createdAt;
    label.textContent = dayLabel(createdAt);
    item.append(label);
    return item;
  }

  /** A separator before the first message of each day (after a page came in above). */
  placeSeparators() {
    for (const old of this.element.querySelectorAll(":scope > li.day")) old.remove();
    let previous = null;
    for (const item of [...this.element.children]) {
      const key = dayKey(item.dataset.createdAt);
      if (key !== previous) item.before(this.separator(item.dataset.createdAt));
      previous = key;
    }
  }

  atLatest() {
    const { scrollHeight, scrollTop, clientHeight } = this.element;
    return scrollHeight - scrollTop - clientHeight < BOTTOM_SLACK_PX;
  }

  scrollToLatest() {
    this.element.scrollTop = this.element.scrollHeight;
    this.jump.hidden = true;
  }

  scrolled() {
    this.jump.hidden = this.atLatest();
    if (this.element.scrollTop < LOAD_MARGIN_PX) this.loadMore();
  }

  async loadMore() {
    const before = this.oldestId();
    if (this.loading || !this.hasMore || !before) return;
    const generation = this.generation;
    this.loading = true;
    let older;
    try {
      older = await this.loadOlder(before);
    } catch (failure) {
      console.warn("older messages did not load:", failure);
      return;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    if (generation !== this.generation) return;
    this.hasMore = older.length >= PAGE_SIZE;
    this.prepend(older.filter((message) => !this.rendered.has(message.id)));
  }

  prepend(messages) {
    // Keep the distance to the bottom: what the person was reading stays where it was.
    const fromBottom = this.element.scrollHeight - this.element.scrollTop;
    this.element.prepend(...messages.map((message) => this.build(message)));
    this.placeSeparators();
    this.element.scrollTop = this.element.scrollHeight - fromBottom;
    this.scrolled(); // still near the top (short pages): the next page
  }

  destroy() {
    this.reset();
    this.element.removeEventListener("scroll", this.onScroll);
    this.jump.remove();
  }
}
