// Browser differences for voice messages live here and nowhere else.
import { _ } from "../i18n.js";

// Safari records AAC in MP4, which every phone plays; Chrome and Firefox record Opus.
const RECORDING_TYPES = ["audio/mp4", "audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"];

const AUDIO_TYPES = { m4a: "audio/mp4", mp4: "audio/mp4", mp3: "audio/mpeg", webm: "audio/webm", ogg: "audio/ogg", wav: "audio/wav" };

/** Why this page cannot record, in words for the person; null when it can. */
export function recordingUnavailableReason() {
  if (!window.isSecureContext) {
    return _(
      "Recording needs a secure (HTTPS) page: this one was opened over plain HTTP at %(host)s, " +
        "and browsers only allow the microphone on HTTPS pages or on this computer's own " +
        "address. Open %(url)s instead.",
      { host: location.host, url: `https://${location.host}${location.pathname}` },
    );
  }
  if (!navigator.mediaDevices?.getUserMedia) return _("This browser does not give pages access to a microphone.");
  if (typeof MediaRecorder === "undefined") return _("This browser cannot record audio.");
  if (!pickRecordingType()) return _("This browser cannot record audio in a format that can be sent.");
  return null;
}

export function pickRecordingType() {
  if (typeof MediaRecorder === "undefined") return null;
  return RECORDING_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) ?? null;
}

/** A getUserMedia failure, explained. */
export function describeMicrophoneError(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return _(
        "Microphone access was denied. Allow the microphone for this site in the browser's settings, then try again.",
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return _("No microphone was found. Connect one and try again.");
    case "NotReadableError":
      return _("The microphone is busy or blocked by the system. Close other apps using it and try again.");
    default:
      return _("The microphone could not be started (%(reason)s).", { reason: error?.message || error });
  }
}

export function audioTypeFromUrl(url) {
  const extension = url.split("?")[0].split(".").pop().toLowerCase();
  return AUDIO_TYPES[extension] ?? "";
}
