// Sends one recording; reports progress; the caller keeps the blob for a retry.
import { _ } from "../i18n.js";

const UPLOAD_URL = "/api/chat/messages/upload_audio";
// An upload with no answer after this long counts as lost (sent again with its key).
const UPLOAD_TIMEOUT_MS = 120000;
const EXTENSIONS = { "audio/mp4": "m4a", "audio/webm": "webm", "audio/ogg": "ogg" };

export class UploadError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** `clientId` is the take's key: an upload repeated with it is stored once (200 on a repeat). */
export function uploadVoice({ blob, mimeType, duration, conversationId, clientId, csrfToken, onProgress }) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("conversation_id", String(conversationId));
    form.append("client_id", clientId);
    form.append("duration", duration.toFixed(2));
    form.append("file", blob, `recording.${EXTENSIONS[mimeType.split(";")[0]] ?? "bin"}`);
    const request = new XMLHttpRequest();
    request.open("POST", UPLOAD_URL);
    request.setRequestHeader("X-CSRFToken", csrfToken);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if ((request.status === 200 || request.status === 201) && request.response?.id) {
        return resolve(request.response);
      }
      const message = request.response?.error ?? _("the upload failed (%(status)s)", { status: request.status });
      reject(new UploadError(message, request.status));
    });
    request.addEventListener("error", () => reject(new UploadError(_("the network connection failed"), 0)));
    request.addEventListener("timeout", () => reject(new UploadError(_("the upload timed out"), 0)));
    request.timeout = UPLOAD_TIMEOUT_MS;
    request.send(form);
  });
}
