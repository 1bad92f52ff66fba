// The chat page's states: empty list, no conversation open, offline, server trouble, and
// the header's indicator of how new messages arrive (the event stream's real state).
import { _ } from "../i18n.js";

// The phone layout's breakpoint, the same as app.css's @media (max-width: 640px).
const PHONE_QUERY = "(max-width: 640px)";

const MODE_LABELS = {
  connecting: _("connecting…"),
  live: _("live"),
  reconnecting: _("reconnecting…"),
  polling: _("polling"),
  offline: _("offline"),
};

export function isPhoneLayout() {
  return window.matchMedia(PHONE_QUERY).matches;
}

/** Shows the empty list's hint and, while nothing is open, the empty pane (no composer). */
export function showEmptyStates({ conversations, current }) {
  document.getElementById("no-conversations").hidden = conversations.length > 0;
  document.getElementById("no-conversation").hidden = Boolean(current);
  document.getElementById("conversation").hidden = !current;
}

/**
 * Keeps the indicators (the open conversation's, and the list's for when that one is
 * not on screen) and the banner in step with the feed's mode and the browser's network
 * state; `problem(failure)` shows a failed request's error in the banner.
 */
export class ConnectionStatus {
  constructor(live, indicators, banner) {
    this.live = live;
    this.indicators = indicators;
    this.banner = banner;
    this.onMode = () => this.render();
    this.onOffline = () => this.render();
    this.onOnline = () => {
      this.render();
      this.live.reconnect();
    };
    live.addEventListener("mode", this.onMode);
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
    this.render();
  }

  render() {
    const mode = navigator.onLine ? this.live.mode : "offline";
    for (const indicator of this.indicators) {
      indicator.textContent = MODE_LABELS[mode] ?? "";
      indicator.dataset.mode = mode;
    }
    if (mode === "offline") {
      this.show(_("You are offline. New messages will arrive when the connection is back."));
    } else if (this.banner.dataset.kind === "offline") {
      this.show("");
    }
    if (mode === "offline") this.banner.dataset.kind = "offline";
  }

  problem(failure) {
    this.show(failure.message);
    this.banner.dataset.kind = "problem";
  }

  /** A request succeeded: a shown problem is over. */
  clearProblem() {
    if (this.banner.dataset.kind === "problem") this.show("");
  }

  show(text) {
    this.banner.textContent = text;
    this.banner.hidden = !text;
    if (!text) delete this.banner.dataset.kind;
  }

  destroy() {
    this.live.removeEventListener("mode", this.onMode);
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
  }
}
