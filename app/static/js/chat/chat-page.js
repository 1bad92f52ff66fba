// The /chat page: conversation list, history, text composer, live updates.
import { _, formatDateTime, formatList, formatTime, ngettext } from "../i18n.js";
import { api, csrfToken } from "./api.js";
import { LiveFeed } from "./live.js";
import { addMessageActions, recalledBody } from "./message-actions.js";
import { ConnectionStatus, isPhoneLayout, showEmptyStates } from "./page-states.js";
import { splitNames } from "./names.js";
import { attachPeopleSearch } from "./people-search.js";

const root = document.getElementById("chat");
const list = document.getElementById("conversations");
const history = document.getElementById("messages");
const textForm = document.getElementById("send-text");
const sendError = document.getElementById("send-error");
const liveStatus = document.getElementById("live-status");

// `arriving` holds live events that come while a conversation's history is loading.
const state = { conversations: [], current: null, rendered: new Map(), arriving: null };
const live = new LiveFeed();
const status = new ConnectionStatus(live, liveStatus, document.getElementById("connection-banner"));
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

function renderConversations() {
  list.replaceChildren(
    ...state.conversations.map((conversation) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.textContent = conversationName(conversation);
      button.className = conversation.id === state.current?.id ? "active" : "";
      button.addEventListener("click", () => openConversation(conversation));
      item.append(button);
      return item;
    }),
  );
  showEmptyStates(state);
}

function messageBody(message, item) {
  const body = document.createElement("div");
  body.className = "body";
  if (message.type === "audio") {
    voice.then((module) => {
      if (module) item.voicePlayer = module.renderAudioMessage(body, message);
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
  if (existing?.voicePlayer && !message.recalled_at) {
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
  const myId = Number(root.dataset.userId);
  item.append(meta, message.recalled_at ? recalledBody(message, myId) : messageBody(message, item));
  addMessageActions(item, message, {
    myId,
    windowSeconds: Number(root.dataset.changeWindow),
    onChanged: (changed) => deliver(changed, true),
  });
  existing?.querySelector("audio")?.pause(); // a recalled voice message stops playing
  existing?.voicePlayer?.destroy?.();
  if (existing) existing.replaceWith(item);
  else history.append(item);
  state.rendered.set(message.id, item);
  if (!existing) item.scrollIntoView({ block: "end" });
}

async function openConversation(conversation) {
  state.current = conversation;
  state.rendered.clear();
  history.replaceChildren();
  document.getElementById("conversation-title").textContent = conversationName(conversation);
  const count = conversation.members?.length ?? conversation.participants.length;
  document.getElementById("conversation-members").textContent = ngettext(
    "%(num)d participant",
    "%(num)d participants",
    count,
  );
  root.classList.add("showing-conversation");
  renderConversations();
  const arriving = [];
  state.arriving = arriving;
  let data;
  try {
    data = await api(`/api/chat/messages?conversation_id=${conversation.id}`);
    status.clearProblem();
  } catch (failure) {
    status.problem(failure);
    return;
  }
  data.messages.forEach((message) => {
    live.seen(message);
    renderMessage(message);
  });
  // The history may predate an event that came meanwhile (a transcode finishing): replay them.
  if (state.arriving === arriving) state.arriving = null;
  arriving.forEach(({ message, updateOnly }) => deliver(message, updateOnly));
  const lastId = data.messages.at(-1)?.id ?? 0;
  live.watch(conversation.id, lastId);
  mountRecorder(conversation);
}

async function mountRecorder(conversation) {
  const container = document.getElementById("voice-recorder");
  container.replaceChildren();
  const module = await voice;
  if (!module || state.current !== conversation) return;
  module.mountRecorder(container, {
    conversationId: conversation.id,
    csrfToken: csrfToken(),
    onSent: (message) => {
      live.seen(message);
      renderMessage(message);
    },
  });
}

async function loadConversations() {
  try {
    state.conversations = (await api("/api/chat/conversations")).conversations;
    status.clearProblem();
  } catch (failure) {
    status.problem(failure);
  }
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
  root.classList.remove("showing-conversation");
});

function deliver(message, updateOnly) {
  if (state.arriving) state.arriving.push({ message, updateOnly });
  else if (!updateOnly || state.rendered.has(message.id)) renderMessage(message);
}

live.addEventListener("message", (event) => {
  const message = event.detail;
  if (!state.conversations.some((c) => c.id === message.conversation_id)) loadConversations();
  deliver(message, false);
});
live.addEventListener("message_updated", (event) => deliver(event.detail, true));
// On a phone the list comes first; a wide screen also opens the latest conversation.
loadConversations().then(() => {
  if (state.conversations.length && !isPhoneLayout()) openConversation(state.conversations[0]);
});
live.start();
attachPeopleSearch(
  document.getElementById("new-conversation").participants,
  document.getElementById("people-suggestions"),
);
