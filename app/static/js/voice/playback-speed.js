// The voice player's speed: 1×, 1.5× or 2×, one choice per person, kept on their account
// (PATCH /api/me voice_speed) so it follows them to every device; every player follows it.
import { locale } from "../i18n.js";
import { api } from "../chat/api.js";

export const SPEEDS = [1, 1.5, 2];
const numberFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const changes = new EventTarget();
let speed = readInitialSpeed();

function readInitialSpeed() {
  // The page renders the account's choice into the chat root (data-voice-speed).
  const value = Number(document.querySelector("[data-voice-speed]")?.dataset.voiceSpeed);
  return SPEEDS.includes(value) ? value : 1;
}

export function currentSpeed() {
  return speed;
}

/** "1×", "1.5×", "2×" in the page's number format. */
export function formatSpeed(value) {
  return `${numberFormat.format(value)}×`;
}

/** The next speed in the cycle 1 → 1.5 → 2 → 1. */
export function nextSpeed(value = speed) {
  return SPEEDS[(SPEEDS.indexOf(value) + 1) % SPEEDS.length];
}

/** Applies a speed to every player at once, then saves it on the account. */
export async function chooseSpeed(value) {
  speed = SPEEDS.includes(value) ? value : 1;
  changes.dispatchEvent(new CustomEvent("change", { detail: value }));
  await api("/api/me", { method: "PATCH", body: { voice_speed: speed } });
}

/** listener(speed) on every change; returns the function that stops listening. */
export function onSpeedChange(listener) {
  const handler = (event) => listener(event.detail);
  changes.addEventListener("change", handler);
  return () => changes.removeEventListener("change", handler);
}
