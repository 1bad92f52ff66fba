// Tells the person that a message arrived somewhere they are not looking: a short beep
// made by WebAudio (no sound file) and a browser notification. Browsers allow both only
// after a user gesture, so the sound is unlocked by the first tap or key, and permission
// for notifications is asked for only when the person presses the offered button.
import { _, locale } from "../i18n.js";

// The beep: a soft sine blip, short enough not to annoy.
const BEEP_HZ = 880;
const BEEP_SECONDS = 0.18;
const BEEP_VOLUME = 0.15;

export class Alerts {
  constructor(offerContainer, { onOpen }) {
    this.onOpen = onOpen;
    this.audio = null;
    this.unlock = () => this.unlockAudio();
    for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, this.unlock, true);
    this.offer = null;
    if (window.Notification?.permission === "default") {
      this.offer = document.createElement("button");
      this.offer.type = "button";
      this.offer.classList.add("secondary", "notifications-offer");
      this.offer.textContent = _("Turn on notifications");
      this.offer.addEventListener("click", () => this.askPermission());
      offerContainer.append(this.offer);
    }
  }

  unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!this.audio) this.audio = new Context();
    if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
  }

  async askPermission() {
    this.offer?.remove();
    this.offer = null;
    await Notification.requestPermission().catch(() => "denied");
  }

  beep() {
    if (!this.audio || this.audio.state !== "running") return;
    const start = this.audio.currentTime;
    const oscillator = this.audio.createOscillator();
    const gain = this.audio.createGain();
    oscillator.frequency.value = BEEP_HZ;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(BEEP_VOLUME, start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + BEEP_SECONDS);
    oscillator.connect(gain).connect(this.audio.destination);
    oscillator.start(start);
    oscillator.stop(start + BEEP_SECONDS);
  }

  /** A message in `conversation` (named `title`) arrived while it is not on screen. */
  announce(conversation, title, preview) {
    this.beep();
    if (window.Notification?.permission !== "granted") return;
    const notification = new Notification(title, {
      body: preview,
      tag: `natter-conversation-${conversation.id}`,
      lang: locale,
    });
    notification.addEventListener("click", () => {
      window.focus();
      this.onOpen(conversation);
      notification.close();
    });
  }

  destroy() {
    for (const type of ["pointerdown", "keydown"]) document.removeEventListener(type, this.unlock, true);
    this.offer?.remove();
    this.audio?.close().catch(() => {});
    this.audio = null;
  }
}
