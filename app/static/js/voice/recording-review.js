// Listening to a finished recording before it is sent: an <audio> on the blob.
import { _ } from "../i18n.js";

export class RecordingReview {
  constructor(take) {
    this.url = URL.createObjectURL(take.blob);
    this.element = document.createElement("audio");
    this.element.className = "review-audio";
    this.element.controls = true;
    this.element.preload = "metadata";
    this.element.playsInline = true;
    this.element.setAttribute("aria-label", _("Your recording"));
    this.element.src = this.url;
  }

  destroy() {
    this.element.pause();
    this.element.removeAttribute("src");
    this.element.load();
    URL.revokeObjectURL(this.url);
  }
}
