// The /chat page: conversation list, history, text composer, live updates.
import { _, ngettext } from "../i18n.js";
import { Alerts } from "./alerts.js";
import { api, csrfToken } from "./api.js";
import { Composer } from "./composer.js";
import { ConversationList, conversationName as nameOf } from "./conversation-list.js";
import { appendLinkified } from "./linkify.js";
import { LiveFeed } from "./live.js";
import { addMessageActions, recalledBody } from "./message-actions.js";
import { MessageList, PAGE_SIZE } from "./message-list.js";
import { splitNames } from "./names.js";
import { Outbox } from "./outbox.js";
import { ConnectionStatus, isPhoneLayout, showEmptyStates } from "./page-states.js";
import { attachPeopleSearch } from "./people-search.js";

const root = document.getElementById("chat");
const list = document.getElementById("conversations");
const pane = document.getElementById("conversation");
const history = document.getElementById("messages");
const textForm = document.getElementById("send-text");
const sendError = document.getElementById("send-error");
const liveStatus = ["live-status", "list-live-status"].map((id) => document.getElementById(id));

const myId = Number(root.dataset.userId);

// `arriving` holds live events that come while a conversation's history is loading.
// `composer` holds the open conversation's voice controls (they own the microphone).
// `carried` is a kept recording on its way to the next conversation's composer.
const state = { current: null, arriving: null, composer: null, carried: null };
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
  return nameOf(conversation, myId);
}

/** The open conversation is what the person sees: page visible, pane shown (phones). */
function isOnScreen(conversationId) {
  return (
    state.current?.id === conversationId &&
    document.visibilityState === "visible" &&
    pane.getClientRects().length > 0
  );
}

/** A tap on the conversation already shown (its history loaded: nothing is arriving) changes
 * nothing: opening it again would stop a recording just started (a wide page also opens the
 * latest conversation by itself). One whose history failed to load opens again. */
function openUnlessShown(conversation) {
  if (!state.arriving && isOnScreen(conversation.id)) return;
  openConversation(conversation);
}

const alerts = new Alerts(document.getElementById("sidebar"), { onOpen: openUnlessShown });
const conversationList = new ConversationList(list, {
  myId,
  onOpen: openUnlessShown,
  isOnScreen,
  alerts,
});

/** Marks the open conversation read up to its newest message while it is on screen. */
function readIfOnScreen() {
  if (state.current && isOnScreen(state.current.id)) {
    conversationList.markRead(state.current.id, messageList.newestId());
  }
}

function refreshEmptyStates() {
  showEmptyStates({ conversations: conversationList.items, current: state.current });
}

function messageBody(message, item) {
  if (message.recalled_at) return recalledBody(message, myId);
  const body = document.createElement("div");
  body.className = "body";
  if (message.type === "audio") {
    voice.then((module) => {
      const recipients = (state.current?.members?.length ?? 1) - 1;
      if (module) item.voicePlayer = module.renderAudioMessage(body, message, { myId, recipients });
      else body.textContent = _("Voice message (player unavailable)");
    });
  } else {
    appendLinkified(body, message.content);
  }
  return body;
}

const messageList = new MessageList(history, {
  myId,
  renderBody: messageBody,
  decorate: (item, message) =>
    addMessageActions(item, message, {
      myId,
      windowSeconds: Number(root.dataset.changeWindow),
      onChanged: (changed) => deliver(changed, true),
    }),
  loadOlder: async (beforeId) => {
    const id = state.current.id;
    const path = `/api/chat/messages?conversation_id=${id}&before_id=${beforeId}&limit=${PAGE_SIZE}`;
    return (await api(path)).messages;
  },
});

function renderMessage(message) {
  if (message.conversation_id === state.current?.id) messageList.add(message);
}

async function openConversation(conversation) {
  // The microphone goes off now; a kept recording is asked about in the next conversation.
  const carried = state.composer?.destroy() ?? state.carried;
  state.composer = null;
  state.carried = carried; // a newer open (even of the same conversation) takes it on
  state.current = conversation;
  messageList.reset();
  document.getElementById("conversation-title").textContent = conversationName(conversation);
  const count = conversation.members?.length ?? conversation.participants.length;
  document.getElementById("conversation-members").textContent = ngettext(
    "%(num)d participant",
    "%(num)d participants",
    count,
  );
  root.classList.add("showing-conversation");
  conversationList.setCurrent(conversation.id);
  refreshEmptyStates();
  const arriving = [];
  state.arriving = arriving;
  let data;
  try {
    data = await api(`/api/chat/messages?conversation_id=${conversation.id}&limit=${PAGE_SIZE}`);
    status.clearProblem();
  } catch (failure) {
    status.problem(failure);
    return;
  }
  if (state.arriving !== arriving) return; // another open started meanwhile: it shows the list
  data.messages.forEach((message) => live.seen(message));
  live.followChangesFrom(data.last_change_id);
  messageList.showLatest(data.messages);
  outbox.waitingIn(conversation.id).forEach((entry) => messageList.addWaiting(entry));
  // The history may predate an event that came meanwhile (a transcode finishing): replay them.
  if (state.arriving === arriving) state.arriving = null;
  arriving.forEach(({ message, updateOnly }) => deliver(message, updateOnly));
  const lastId = data.messages.at(-1)?.id ?? 0;
  live.watch(conversation.id, lastId);
  readIfOnScreen();
  state.carried = null;
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
      conversationList.receive(message);
      renderMessage(message);
    },
  });
}

async function loadConversations() {
  try {
    const items = await conversationList.load();
    status.clearProblem();
    return items;
  } catch (failure) {
    status.problem(failure);
    return conversationList.items;
  } finally {
    refreshEmptyStates();
  }
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
    openConversation(conversationList.add(conversation));
  } catch (failure) {
    showError(error, failure.message);
  }
});

const textComposer = new Composer(textForm, textForm.content);
const outbox = new Outbox({
  onSent: (message) => {
    live.seen(message);
    conversationList.receive(message);
    renderMessage(message);
  },
  onFailed: (entry, failure) => {
    // The server refused it (a 4xx): the text goes back to the field if that is empty.
    if (entry.conversationId === state.current?.id) messageList.dropWaiting(entry.clientId);
    if (!textForm.content.value) textForm.content.value = entry.content;
    textComposer.fit();
    showError(sendError, failure.message);
  },
});
textForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const content = textForm.content.value;
  if (!content.trim() || !state.current) return;
  // Shown as "sending…" now, and sent (again, with the same key) until the server answers.
  const entry = outbox.send(state.current.id, content);
  textComposer.clear();
  showError(sendError, "");
  messageList.addWaiting(entry);
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
  else if (!updateOnly || messageList.has(message.id)) renderMessage(message);
}

live.addEventListener("message", (event) => {
  const message = event.detail;
  // A voice message from someone else also changes the list's unheard count.
  const unheard = message.type === "audio" && message.sender_id !== myId;
  const known = conversationList.receive(message);
  if (!known || unheard) {
    // A conversation started by someone else arrives with its first message: announced once listed.
    loadConversations().then(() => known || conversationList.arrivedInNew(message));
  }
  deliver(message, false);
  if (message.conversation_id === state.current?.id) readIfOnScreen();
});
live.addEventListener("message_updated", (event) => {
  conversationList.receive(event.detail);
  deliver(event.detail, true);
});
live.addEventListener("voice_heard", (event) => {
  const record = event.detail;
  messageList.voicePlayer(record.message_id)?.markHeard(record);
  // Heard here or on another of this person's devices: the list's count drops.
  if (record.user_id === myId) loadConversations();
});
live.addEventListener("conversation_read", (event) => conversationList.applyRead(event.detail));
let previousMode = null;
live.addEventListener("mode", (event) => {
  // Back on the stream after a break: counts may have moved meanwhile.
  if (event.detail === "live" && previousMode && previousMode !== "live") {
    loadConversations();
    outbox.retryNow();
  }
  previousMode = event.detail;
});
document.addEventListener("visibilitychange", readIfOnScreen);

// On a phone the list comes first; a wide screen also opens the latest conversation.
loadConversations().then((items) => {
  if (items.length && !isPhoneLayout()) openConversation(items[0]);
});
live.start();
attachPeopleSearch(
  document.getElementById("new-conversation").participants,
  document.getElementById("people-suggestions"),
);
// Every control is wired: until now a submit would be the browser's own (a reload).
document.documentElement.dataset.ready = "true";
