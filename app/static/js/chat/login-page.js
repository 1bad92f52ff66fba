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
    const next = new URLSearchParams(location.search).get("next");
    location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/chat");
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
});
