// The /chat page: conversation list, history, text composer, live updates.
import { _, formatDateTime, formatList, formatTime, ngettext } from "../i18n.js";
import { api, csrfToken } from "./api.js";
import { LiveFeed } from "./live.js";
import { splitNames } from "./names.js";
import { attachPeopleSearch } from "./people-search.js";

const root = document.getElementById("chat");
const list = document.getElementById("conversations");
const pane = document.getElementById("conversation");
const history = document.getElementById("messages");
const textForm = document.getElementById("send-text");
const sendError = document.getElementById("send-error");
const liveStatus = document.getElementById("live-status");

const MODE_LABELS = {
  live: _("live"),
  reconnecting: _("reconnecting…"),
  polling: _("polling"),
  connecting: "",
};

// `arriving` holds live events that come while a conversation's history is loading.
// `composer` holds the open conversation's voice controls (they own the microphone).
const state = { conversations: [], current: null, rendered: new Map(), arriving: null, composer: null };
const live = new LiveFeed();
const voice = import("/static/js/voice/index.js").catch((error) => {
  console.warn("voice messages unavailable:", error);
  return null;
});

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

function conversationName(conversation) {
  if (conversation.title) return conversation.title;
  const myId = Number(root.dataset.userId);
  const others = (conversation.members ?? []).filter((member) => member.id !== myId);
  return others.length ? formatList(others.map((member) => member.display_name)) : _("Just you");
}

const myId = () => Number(root.dataset.userId);

/** The count of voice messages from others not heard yet, as a badge (nothing when 0). */
function unheardBadge(conversation) {
  const count = conversation.unheard ?? 0;
  if (!count) return [];
  const badge = document.createElement("span");
  badge.className = "unheard-count";
  badge.textContent = String(count);
  const label = ngettext("%(num)d unheard voice message", "%(num)d unheard voice messages", count);
  badge.title = label;
  badge.setAttribute("aria-label", label);
  return [badge];
}

function renderConversations() {
  list.replaceChildren(
    ...state.conversations.map((conversation) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.append(conversationName(conversation), ...unheardBadge(conversation));
      button.dataset.conversationId = conversation.id;
      button.className = conversation.id === state.current?.id ? "active" : "";
      button.addEventListener("click", () => openConversation(conversation));
      item.append(button);
      return item;
    }),
  );
}

function messageBody(message, item) {
  const body = document.createElement("div");
  body.className = "body";
  if (message.type === "audio") {
    voice.then((module) => {
      const recipients = (state.current?.members?.length ?? 1) - 1;
      if (module) item.voicePlayer = module.renderAudioMessage(body, message, { myId: myId(), recipients });
      else body.textContent = _("Voice message (player unavailable)");
    });
  } else {
    body.textContent = message.content;
  }
  return body;
}

function renderMessage(message) {
  if (message.conversation_id !== state.current?.id) return;
  const existing = state.rendered.get(message.id);
  if (existing?.voicePlayer) {
    // A voice message's files changed (transcode done): keep its player, new sources.
    existing.voicePlayer.update(message.content);
    return;
  }
  const item = document.createElement("li");
  item.className = message.sender_id === Number(root.dataset.userId) ? "mine" : "theirs";
  item.dataset.messageId = message.id;
  item.dataset.type = message.type;
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
  item.append(meta, messageBody(message, item));
  if (existing) existing.replaceWith(item);
  else history.append(item);
  state.rendered.set(message.id, item);
  if (!existing) item.scrollIntoView({ block: "end" });
}

async function openConversation(conversation) {
  // The microphone goes off now; a kept recording is asked about in the next conversation.
  const carried = state.composer?.destroy() ?? null;
  state.composer = null;
  state.current = conversation;
  state.rendered.forEach((item) => item.voicePlayer?.destroy());
  state.rendered.clear();
  history.replaceChildren();
  document.getElementById("conversation-title").textContent = conversationName(conversation);
  const count = conversation.members?.length ?? conversation.participants.length;
  document.getElementById("conversation-members").textContent = ngettext(
    "%(num)d participant",
    "%(num)d participants",
    count,
  );
  pane.hidden = false;
  root.classList.add("showing-conversation");
  renderConversations();
  const arriving = [];
  state.arriving = arriving;
  const data = await api(`/api/chat/messages?conversation_id=${conversation.id}`);
  data.messages.forEach((message) => {
    live.seen(message);
    renderMessage(message);
  });
  // The history may predate an event that came meanwhile (a transcode finishing): replay them.
  if (state.arriving === arriving) state.arriving = null;
  arriving.forEach(({ message, updateOnly }) => deliver(message, updateOnly));
  const lastId = data.messages.at(-1)?.id ?? 0;
  live.watch(conversation.id, lastId);
  mountRecorder(conversation, carried);
}

async function mountRecorder(conversation, carried) {
  const container = document.getElementById("voice-recorder");
  container.replaceChildren();
  const [module, take] = await Promise.all([voice, carried]);
  if (!module || state.current !== conversation || state.composer) return;
  state.composer = module.mountRecorder(container, {
    conversationId: conversation.id,
    conversationName: conversationName(conversation),
    carried: take,
    csrfToken: csrfToken(),
    onSent: (message) => {
      live.seen(message);
      renderMessage(message);
    },
  });
}

let listRequests = 0;

async function loadConversations() {
  const ticket = ++listRequests;
  const data = await api("/api/chat/conversations");
  if (ticket !== listRequests) return; // a newer answer is on its way
  state.conversations = data.conversations;
  renderConversations();
}

document.getElementById("new-conversation").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = form.querySelector(".error");
  const participants = splitNames(form.participants.value);
  try {
    const conversation = await api("/api/chat/conversations", {
      method: "POST",
      body: { participants, title: form.title.value.trim() || undefined },
    });
    form.reset();
    showError(error, "");
    const known = state.conversations.find((c) => c.id === conversation.id);
    if (!known) state.conversations.unshift(conversation);
    openConversation(known ?? conversation);
  } catch (failure) {
    showError(error, failure.message);
  }
});

textForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const content = textForm.content.value;
  if (!content.trim() || !state.current) return;
  try {
    const message = await api("/api/chat/messages", {
      method: "POST",
      body: { conversation_id: state.current.id, content },
    });
    textForm.reset();
    showError(sendError, "");
    live.seen(message);
    renderMessage(message);
  } catch (failure) {
    showError(sendError, failure.message);
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  // A recording in progress stops; the person sends or discards it, then the logout goes on.
  await state.composer?.interrupt("logout");
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  location.assign("/login");
});

const nameForm = document.getElementById("display-name-form");
nameForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("display-name-error");
  try {
    const me = await api("/api/me", { method: "PATCH", body: { display_name: nameForm.display_name.value } });
    document.getElementById("my-name").textContent = me.display_name;
    nameForm.display_name.value = me.display_name;
    showError(error, "");
  } catch (failure) {
    showError(error, failure.message);
  }
});

document.getElementById("back").addEventListener("click", () => {
  state.composer?.interrupt("left");
  root.classList.remove("showing-conversation");
});

function deliver(message, updateOnly) {
  if (state.arriving) state.arriving.push({ message, updateOnly });
  else if (!updateOnly || state.rendered.has(message.id)) renderMessage(message);
}

live.addEventListener("message", (event) => {
  const message = event.detail;
  const unheard = message.type === "audio" && message.sender_id !== myId();
  if (unheard || !state.conversations.some((c) => c.id === message.conversation_id)) loadConversations();
  deliver(message, false);
});
live.addEventListener("voice_heard", (event) => {
  const record = event.detail;
  const item = state.rendered.get(record.message_id);
  item?.voicePlayer?.markHeard(record);
  // Heard here or on another of this person's devices: the list's count drops.
  if (record.user_id === myId()) loadConversations();
});
live.addEventListener("message_updated", (event) => deliver(event.detail, true));
live.addEventListener("mode", (event) => {
  liveStatus.textContent = MODE_LABELS[event.detail] ?? "";
  liveStatus.dataset.mode = event.detail;
});

loadConversations().then(() => {
  if (state.conversations.length) openConversation(state.conversations[0]);
});
live.start();
attachPeopleSearch(
  document.getElementById("new-conversation").participants,
  document.getElementById("people-suggestions"),
);
