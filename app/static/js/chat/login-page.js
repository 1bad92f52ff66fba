import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const action = event.submitter?.value === "register" ? "register" : "login";
  const body = { username: form.username.value.trim(), password: form.password.value };
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
