// Autocomplete for the new-conversation form: suggests people for the name being typed
// (the text after the last separator) from GET /api/users/search.
import { _ } from "../i18n.js";
import { api } from "./api.js";
import { SEPARATORS } from "./names.js";

// The server answers from 2 characters on; waiting for a pause keeps to one request per word.
const MIN_CHARACTERS = 2;
const PAUSE_MS = 250;

export function attachPeopleSearch(input, list) {
  let timer = null;
  let asked = 0; // answers to older questions are dropped

  function currentWord() {
    const parts = input.value.split(SEPARATORS);
    return parts.at(-1).trim();
  }

  function choose(user) {
    const parts = input.value.split(SEPARATORS).map((part) => part.trim()).filter(Boolean);
    parts[parts.length ? parts.length - 1 : 0] = user.username;
    input.value = `${parts.join(", ")}, `;
    list.replaceChildren();
    input.focus();
  }

  function show(users) {
    list.replaceChildren(
      ...users.map((user) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "suggestion";
        button.dataset.username = user.username;
        const name = document.createElement("span");
        name.textContent = user.display_name;
        const handle = document.createElement("small");
        handle.textContent = `@${user.username}`;
        button.append(name, " ", handle);
        // The accessible name holds the visible text (WCAG 2.5.3, "label in name").
        button.setAttribute("aria-label", _("Add %(name)s", { name: `${user.display_name} @${user.username}` }));
        button.addEventListener("click", () => choose(user));
        item.append(button);
        return item;
      }),
    );
  }

  async function lookUp() {
    const word = currentWord();
    const question = ++asked;
    if ([...word].length < MIN_CHARACTERS) return show([]);
    try {
      const data = await api(`/api/users/search?q=${encodeURIComponent(word)}`);
      if (question === asked) show(data.users);
    } catch {
      if (question === asked) show([]); // suggestions are a help, never an error
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookUp, PAUSE_MS);
  });
  input.form.addEventListener("reset", () => {
    clearTimeout(timer);
    asked += 1; // an answer still on its way belongs to the old text
    list.replaceChildren();
  });
}
