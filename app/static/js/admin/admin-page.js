// The /admin page: registration mode, invites (created links are shown once), accounts.
import { _, formatDateTime, ngettext } from "../i18n.js";
import { api } from "../chat/api.js";

const PAGE_SIZE = 50;
const errorBox = document.getElementById("admin-error");
const myId = Number(document.getElementById("admin").dataset.userId);
const registrationForm = document.getElementById("registration-form");
const registrationStatus = document.getElementById("registration-status");
const inviteForm = document.getElementById("invite-form");
const inviteList = document.getElementById("invites");
const userList = document.getElementById("users");
const pageLabel = document.getElementById("users-page");
const state = { page: 1, total: 0 };

const INVITE_STATES = {
  active: _("active"),
  expired: _("expired"),
  used_up: _("used up"),
  revoked: _("revoked"),
};

function showError(message) {
  errorBox.textContent = message || "";
  errorBox.hidden = !message;
}

// Runs an API action, showing its error (in the person's language) on the page.
async function attempt(action) {
  showError("");
  try {
    return await action();
  } catch (failure) {
    showError(failure.message);
    return null;
  }
}

function item(text, buttonLabel, onClick) {
  const li = document.createElement("li");
  const span = document.createElement("span");
  span.textContent = text;
  li.append(span);
  if (buttonLabel) {
    const button = document.createElement("button");
    button.className = "secondary";
    button.textContent = buttonLabel;
    button.addEventListener("click", onClick);
    li.append(button);
  }
  return li;
}

async function loadRegistration() {
  const answer = await attempt(() => api("/api/admin/registration"));
  if (!answer) return;
  registrationForm.mode.value = answer.mode;
  registrationStatus.textContent = _("In force: %(mode)s (server default: %(default)s)", answer);
}

async function loadInvites() {
  const answer = await attempt(() => api("/api/admin/invites"));
  if (!answer) return;
  inviteList.replaceChildren(
    ...answer.invites.map((invite) => {
      const text = _("#%(id)s · %(state)s · %(left)s of %(uses)s left · expires %(when)s", {
        id: invite.id,
        state: INVITE_STATES[invite.state] ?? invite.state,
        left: invite.uses_left,
        uses: invite.max_uses,
        when: formatDateTime(invite.expires_at),
      });
      const revoke = async () => {
        if (await attempt(() => api(`/api/admin/invites/${invite.id}/revoke`, { method: "POST" }))) loadInvites();
      };
      return item(text, invite.state === "active" ? _("Revoke") : null, revoke);
    }),
  );
}

async function loadUsers() {
  const answer = await attempt(() => api(`/api/admin/users?page=${state.page}&per_page=${PAGE_SIZE}`));
  if (!answer) return;
  state.total = answer.total;
  userList.replaceChildren(...answer.users.map(userItem));
  const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
  pageLabel.textContent = ngettext("page %(page)s of %(num)d", "page %(page)s of %(num)d", pages, {
    page: state.page,
  });
  document.getElementById("users-prev").disabled = state.page <= 1;
  document.getElementById("users-next").disabled = state.page >= pages;
}

function userItem(user) {
  const marks = [user.is_admin ? _("admin") : "", user.disabled ? _("disabled") : ""].filter(Boolean);
  const text = marks.length ? `${user.display_name} (@${user.username}) · ${marks.join(" · ")}` : `${user.display_name} (@${user.username})`;
  if (user.id === myId) return item(text, null);
  const action = user.disabled ? "enable" : "disable";
  const label = user.disabled ? _("Enable") : _("Disable");
  return item(text, label, async () => {
    if (await attempt(() => api(`/api/admin/users/${user.id}/${action}`, { method: "POST" }))) loadUsers();
  });
}

registrationForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { mode: registrationForm.mode.value };
  if (await attempt(() => api("/api/admin/registration", { method: "PUT", body }))) loadRegistration();
});

inviteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { uses: Number(inviteForm.uses.value), expires: inviteForm.expires.value };
  const invite = await attempt(() => api("/api/admin/invites", { method: "POST", body }));
  if (!invite) return;
  document.getElementById("new-invite").hidden = false;
  const field = document.getElementById("new-invite-link");
  field.value = invite.link;
  field.select();
  loadInvites();
});

document.getElementById("users-prev").addEventListener("click", () => {
  state.page -= 1;
  loadUsers();
});
document.getElementById("users-next").addEventListener("click", () => {
  state.page += 1;
  loadUsers();
});

loadRegistration();
loadInvites();
loadUsers();
