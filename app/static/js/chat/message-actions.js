// Edit and recall of one's own messages: the "edited" and "recalled" marks, the Edit and
// Recall buttons, the inline editor. chat-page.js renders a message, then hands it here.
import { _, formatDateTime } from "../i18n.js";
import { api } from "./api.js";

/** What a recalled message shows in place of its text or player. */
export function recalledBody(message, myId) {
  const body = document.createElement("div");
  body.classList.add("body", "recalled");
  body.textContent = message.sender_id === myId ? _("You recalled a message") : _("This message was recalled");
  return body;
}

function actionButton(label, classNames, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.classList.add(...classNames);
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

function stillChangeable(message, windowSeconds) {
  return Date.now() - Date.parse(message.created_at) < windowSeconds * 1000;
}

/**
 * Adds the marks and, on one's own message still inside the change window, the buttons.
 * `onChanged(message)` receives the server's answer (the event stream brings it too).
 */
export function addMessageActions(item, message, { myId, windowSeconds, onChanged }) {
  if (message.recalled_at) {
    item.classList.add("recalled");
    return;
  }
  const meta = item.querySelector(".meta");
  if (message.edited_at) {
    const mark = document.createElement("span");
    mark.className = "edited";
    mark.textContent = _("edited");
    mark.title = formatDateTime(message.edited_at);
    meta.append(" · ", mark);
  }
  if (message.sender_id !== myId || !stillChangeable(message, windowSeconds)) return;
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  const fail = (failure) => {
    error.textContent = failure.message;
    error.hidden = false;
  };
  const actions = document.createElement("div");
  actions.className = "message-actions";
  if (message.type === "text") {
    actions.append(actionButton(_("Edit"), ["link", "edit"], () => openEditor(item, message, { onChanged, fail })));
  }
  actions.append(
    actionButton(_("Recall"), ["link", "recall"], async () => {
      if (!window.confirm(_("Recall this message for everyone?"))) return;
      try {
        onChanged(await api(`/api/chat/messages/${message.id}/recall`, { method: "POST" }));
      } catch (failure) {
        fail(failure);
      }
    }),
  );
  item.append(actions, error);
}

function openEditor(item, message, { onChanged, fail }) {
  const body = item.querySelector(".body");
  const form = document.createElement("form");
  form.className = "edit-message";
  const field = document.createElement("textarea");
  field.name = "content";
  field.required = true;
  field.maxLength = 4000;
  field.value = message.content;
  field.setAttribute("aria-label", _("Edit message"));
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = _("Save");
  const cancel = actionButton(_("Cancel"), ["secondary", "cancel-edit"], () => form.replaceWith(body));
  form.append(field, save, cancel);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      onChanged(
        await api(`/api/chat/messages/${message.id}`, { method: "PATCH", body: { content: field.value } }),
      );
    } catch (failure) {
      fail(failure);
    }
  });
  body.replaceWith(form);
  field.focus();
}
