// The language switcher: saves the choice (on the account when logged in) and reloads.
import { api } from "./chat/api.js";

const form = document.getElementById("language-switcher");
form?.locale.addEventListener("change", async () => {
  await api("/api/locale", { method: "PUT", body: { locale: form.locale.value } });
  location.reload();
});
