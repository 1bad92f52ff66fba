// Voice messages on the chat page: the recorder's controls and the player.
import { VoiceComposer } from "./composer.js";
import { VoiceRecorder } from "./recorder.js";
import { VoicePlayer } from "./player.js";

export { parseAudioContent } from "./player.js";

/** options: {myId, recipients} (who is looking, how many others are in the conversation). */
export function renderAudioMessage(container, message, options = {}) {
  return new VoicePlayer(container, message.content, { message, ...options });
}

/**
 * The voice controls of one conversation; null where this browser cannot record. The
 * caller keeps the composer and calls destroy() when the conversation closes: it stops
 * the microphone and resolves with a kept take to hand to the next mount (`carried`).
 */
export function mountRecorder(container, options) {
  delete container.dataset.state;
  const reason = VoiceRecorder.unavailableReason;
  if (reason) {
    const notice = document.createElement("p");
    notice.classList.add("notice", "recording-unavailable");
    notice.textContent = reason;
    container.replaceChildren(notice);
    return null;
  }
  return new VoiceComposer(container, options);
}
