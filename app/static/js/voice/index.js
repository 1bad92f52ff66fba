// Voice messages on the chat page: the recorder's controls and the player.
import { _, ngettext } from "../i18n.js";
import { ENDING_SOON_SECONDS, MAX_RECORDING_SECONDS, VoiceRecorder } from "./recorder.js";
import { uploadVoice } from "./uploader.js";
import { VoicePlayer, formatSeconds } from "./player.js";

export { parseAudioContent } from "./player.js";

function button(label, ...classNames) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.classList.add(...classNames);
  return element;
}

/** options: {myId, recipients} (who is looking, how many others are in the conversation). */
export function renderAudioMessage(container, message, options = {}) {
  return new VoicePlayer(container, message.content, { message, ...options });
}

export function mountRecorder(container, { conversationId, csrfToken, onSent }) {
  const reason = VoiceRecorder.unavailableReason;
  if (reason) {
    const notice = document.createElement("p");
    notice.classList.add("notice", "recording-unavailable");
    notice.textContent = reason;
    container.replaceChildren(notice);
    return null;
  }
  const recorder = new VoiceRecorder();
  const record = button("🎤 " + _("Record"), "record");
  const send = button(_("Send"), "send-voice");
  const cancel = button(_("Cancel"), "secondary", "cancel-voice");
  const retry = button(_("Retry upload"), "retry-voice");
  const timer = document.createElement("span");
  timer.className = "timer";
  const progress = document.createElement("progress");
  progress.max = 1;
  const status = document.createElement("p");
  status.classList.add("notice", "voice-status");
  status.setAttribute("role", "status");
  let pending = null; // a finished recording kept until it is sent

  function show(...elements) {
    container.replaceChildren(...elements, status);
  }

  function idle(message = "") {
    status.textContent = message;
    show(record);
  }

  async function upload() {
    show(progress);
    progress.value = 0;
    status.textContent = _("Sending…");
    try {
      const message = await uploadVoice({
        ...pending, conversationId, csrfToken, onProgress: (fraction) => (progress.value = fraction),
      });
      pending = null;
      idle("");
      onSent?.(message);
    } catch (error) {
      status.textContent = _("Not sent: %(reason)s. Your recording is kept.", { reason: error.message });
      show(retry, cancel);
    }
  }

  record.addEventListener("click", async () => {
    status.textContent = "";
    try {
      await recorder.start();
    } catch (error) {
      idle(error.message);
    }
  });
  send.addEventListener("click", async () => {
    pending = await recorder.stop();
    recorder.reset();
    await upload();
  });
  cancel.addEventListener("click", () => {
    pending = null;
    recorder.cancel();
    idle("");
  });
  retry.addEventListener("click", upload);
  recorder.addEventListener("tick", (event) => {
    timer.textContent = `${formatSeconds(event.detail.elapsed)} / ${formatSeconds(MAX_RECORDING_SECONDS)}`;
  });
  recorder.addEventListener("state", async (event) => {
    const { state } = event.detail;
    if (state === "recording") {
      timer.textContent = `0:00 / ${formatSeconds(MAX_RECORDING_SECONDS)}`;
      status.textContent = _("Recording…");
      show(timer, send, cancel);
    } else if (state === "ending-soon") {
      status.textContent = ngettext(
        "The recording stops in %(num)d second.",
        "The recording stops in %(num)d seconds.",
        ENDING_SOON_SECONDS,
      );
    } else if (state === "ended" && event.detail.reason === "limit") {
      // The maximum length was reached: send what was recorded.
      send.click();
    }
  });
  idle("");
  return recorder;
}
