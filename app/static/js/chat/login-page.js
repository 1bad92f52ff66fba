// The login page: log in or create an account, then go on to the chat.
import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

// Password managers read autocomplete: a new account's password is a "new-password".
for (const button of form.querySelectorAll("button[type=submit]")) {
  button.addEventListener("pointerdown", () => {
    form.password.autocomplete = button.value === "register" ? "new-password" : "current-password";
  });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const action = event.submitter?.value === "register" ? "register" : "login";
  const body = { username: form.username.value.trim(), password: form.password.value };
  const displayName = form.display_name.value.trim();
  if (action === "register" && displayName) body.display_name = displayName;
  // An invite link (/login?invite=TOKEN) lets its holder register while registration is invite-only.
  if (action === "register" && form.dataset.invite) body.invite = form.dataset.invite;
  error.hidden = true;
  try {
    await api(`/api/auth/${action}`, { method: "POST", body });
    // The server checked `next` (a path on this site only); the URL check is a second lock.
    const next = new URL(form.dataset.next || "/chat", location.origin);
    location.assign(next.origin === location.origin ? next.pathname + next.search : "/chat");
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
});
