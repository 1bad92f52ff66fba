// The conversation list: latest activity first; each row shows the name, the last
// message, when it came and how many are unread. Read positions live on the server (the
// same on every device); this list follows them live and keeps the tab title's count.
import { _, formatList, ngettext } from "../i18n.js";
import { parseAudioContent } from "../voice/player.js";
import { formatSeconds } from "../voice/time.js";
import { api } from "./api.js";
import { relativeTime } from "./dates.js";

// How often the "5 min ago" labels are brought up to date.
const CLOCK_MS = 30_000;

/** The conversation's title, else the other people's names ("Just you" alone). */
export function conversationName(conversation, myId) {
  if (conversation.title) return conversation.title;
  const others = (conversation.members ?? []).filter((member) => member.id !== myId);
  return others.length ? formatList(others.map((member) => member.display_name)) : _("Just you");
}

/** One line about a message: "[Voice] 0:07", or its text on one line. */
export function messagePreview(message) {
  if (message.recalled_at) return _("Message recalled");
  if (message.type === "audio") {
    const { duration } = parseAudioContent(message.content);
    return _("[Voice] %(duration)s", { duration: formatSeconds(duration) });
  }
  return message.content.replace(/\s+/g, " ").trim();
}

function activity(item) {
  return Date.parse(item.last_activity_at ?? item.created_at) || 0;
}

/** The count of voice messages from others not heard yet, as a badge (nothing when 0). */
function unheardBadge(item) {
  const count = item.unheard ?? 0;
  if (!count) return [];
  const badge = document.createElement("span");
  badge.className = "unheard-count";
  badge.textContent = String(count);
  const label = ngettext("%(num)d unheard voice message", "%(num)d unheard voice messages", count);
  badge.title = label;
  badge.setAttribute("aria-label", label);
  return [badge];
}

export class ConversationList {
  constructor(element, { myId, onOpen, isOnScreen, alerts }) {
    this.element = element;
    this.myId = myId;
    this.onOpen = onOpen;
    this.isOnScreen = isOnScreen;
    this.alerts = alerts;
    this.items = [];
    this.currentId = null;
    this.loads = 0;
    this.reads = new Map(); // conversation id -> { sending, wanted }: one request at a time
    this.baseTitle = document.title;
    this.clock = setInterval(() => this.render(), CLOCK_MS);
  }

  async load() {
    const ticket = ++this.loads;
    const data = await api("/api/chat/conversations");
    if (ticket === this.loads) {
      // Only the newest answer counts: an older one may arrive last.
      this.items = data.conversations;
      this.render();
    }
    return this.items;
  }

  find(id) {
    return this.items.find((item) => item.id === id);
  }

  /** A conversation just started or reopened here (the answer of POST, no summary yet). */
  add(conversation) {
    let item = this.find(conversation.id);
    if (!item) {
      item = { last_message: null, last_read_message_id: 0, unread: 0, ...conversation };
      this.items.push(item);
    }
    this.render();
    return item;
  }

  setCurrent(id) {
    this.currentId = id;
    this.render();
  }

  /** A new or changed message; false if its conversation is not in the list yet. */
  receive(message) {
    const item = this.find(message.conversation_id);
    if (!item) return false;
    const newest = item.last_message?.id ?? 0;
    if (message.id < newest) return true;
    const isNew = message.id > newest;
    item.last_message = message;
    if (isNew) {
      item.last_activity_at = message.created_at;
      if (message.sender_id !== this.myId && !this.isOnScreen(item.id)) {
        item.unread += 1;
        this.announce(item, message);
      }
    }
    this.render();
    return true;
  }

  /** The first message of a conversation this list did not have, once loaded with it. */
  arrivedInNew(message) {
    const item = this.find(message.conversation_id);
    if (item && message.sender_id !== this.myId && !this.isOnScreen(item.id)) {
      this.announce(item, message);
    }
  }

  /** The notification names who wrote, unless the conversation is already named after them. */
  announce(item, message) {
    const title = conversationName(item, this.myId);
    const text = messagePreview(message);
    const name = message.sender_display_name;
    const body = title === name ? text : _("%(name)s: %(text)s", { name, text });
    this.alerts?.announce(item, title, body);
  }

  /** The person read on one of their pages (this one or another device). */
  applyRead(state) {
    const item = this.find(state.conversation_id);
    if (!item || state.last_read_message_id < item.last_read_message_id) return;
    item.last_read_message_id = state.last_read_message_id;
    item.unread = state.unread;
    this.render();
  }

  /** Everything up to `messageId` is on screen: move the read position there. */
  markRead(conversationId, messageId) {
    const item = this.find(conversationId);
    if (!item || !messageId || (messageId <= item.last_read_message_id && !item.unread)) return;
    item.unread = 0;
    this.render();
    const read = this.reads.get(conversationId) ?? { sending: false, wanted: 0 };
    read.wanted = Math.max(read.wanted, messageId);
    this.reads.set(conversationId, read);
    if (!read.sending) this.sendRead(conversationId, read);
  }

  async sendRead(conversationId, read) {
    read.sending = true;
    try {
      while (read.wanted) {
        const messageId = read.wanted;
        read.wanted = 0;
        const body = { conversation_id: conversationId, message_id: messageId };
        this.applyRead(await api("/api/chat/read", { method: "POST", body }));
      }
    } catch (failure) {
      console.warn("marking as read failed:", failure);
    } finally {
      read.sending = false;
    }
  }

  describe(item, message) {
    const text = messagePreview(message);
    if (message.sender_id === this.myId) return _("You: %(text)s", { text });
    if ((item.members?.length ?? 0) > 2) {
      return _("%(name)s: %(text)s", { name: message.sender_display_name, text });
    }
    return text;
  }

  row(item) {
    const button = document.createElement("button");
    button.className = "conversation-row";
    button.classList.toggle("active", item.id === this.currentId);
    button.classList.toggle("unread", item.unread > 0);
    button.dataset.conversationId = item.id;
    button.addEventListener("click", () => this.onOpen(item));
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = conversationName(item, this.myId);
    const when = document.createElement("time");
    when.className = "when";
    when.dateTime = item.last_activity_at ?? item.created_at;
    when.textContent = relativeTime(when.dateTime);
    const preview = document.createElement("span");
    preview.className = "preview";
    preview.textContent = item.last_message ? this.describe(item, item.last_message) : "";
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.hidden = !item.unread;
    badge.textContent = String(item.unread);
    badge.title = ngettext("%(num)d unread message", "%(num)d unread messages", item.unread);
    const top = document.createElement("span");
    top.className = "row-top";
    top.append(name, when);
    const bottom = document.createElement("span");
    bottom.className = "row-bottom";
    bottom.append(preview, badge, ...unheardBadge(item));
    button.append(top, bottom);
    const entry = document.createElement("li");
    entry.append(button);
    return entry;
  }

  render() {
    this.items.sort((a, b) => activity(b) - activity(a) || b.id - a.id);
    this.element.replaceChildren(...this.items.map((item) => this.row(item)));
    const total = this.items.reduce((sum, item) => sum + item.unread, 0);
    document.title = total ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  destroy() {
    clearInterval(this.clock);
    this.element.replaceChildren();
    document.title = this.baseTitle;
  }
}
