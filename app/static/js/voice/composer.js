// The voice part of the composer: one take at a time from the record button to the
// upload. Hold to record on touch (release sends, slide left cancels, slide up locks),
// toggle with click/Space/Enter (Escape cancels); a locked or toggled take, one stopped at
// the length limit and one interrupted by the page (hidden, left, logged out) all end
// in a review: listen, then Send or Discard. Nothing is ever sent without a person's act.
import { _, ngettext } from "../i18n.js";
import { LevelMeter } from "./level-meter.js";
import { formatSeconds } from "./time.js";
import { RecordButton } from "./record-button.js";
import { MAX_RECORDING_SECONDS, VoiceRecorder } from "./recorder.js";
import { RecordingReview } from "./recording-review.js";
import { isRetryable, newClientId, retryDelay } from "../client-keys.js";
import { uploadVoice } from "./uploader.js";

// The document's events that take the page away from the person (pagehide is window's).
const PAGE_HIDE_EVENTS = ["visibilitychange", "freeze"];
// An upload that gets no answer (or a 5xx) is tried this many times in all, with backoff
// (about a minute), before the person sees Retry; the same key makes every try one message.
const UPLOAD_TRIES = 7;
// A touch shorter than this is a tap, not a message: it is discarded with a hint.
const MIN_HOLD_SECONDS = 0.5;

function button(label, ...classNames) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.classList.add(...classNames);
  return element;
}

/** Why a take is waiting in the review, in words for the person. */
function reviewMessage(reason, { maxSeconds, carried }) {
  if (carried) {
    return _("The recording for %(name)s stopped when you opened another conversation. Send it there, or discard it?", {
      name: carried.conversationName,
    });
  }
  switch (reason) {
    case "limit":
      return _("The recording reached its %(limit)s limit and stopped. Send it, or discard it?", {
        limit: formatSeconds(maxSeconds),
      });
    case "hidden":
      return _("The recording stopped when the page was hidden. Send it, or discard it?");
    case "left":
      return _("The recording stopped when you left the conversation. Send it, or discard it?");
    case "logout":
      return _("Send or discard your recording before logging out.");
    case "lost":
      return _("The recording stopped when the button lost your touch. Send it, or discard it?");
    default:
      return _("Listen to your recording, then send it or discard it.");
  }
}

export class VoiceComposer {
  constructor(container, { conversationId, conversationName, csrfToken, onSent, carried = null }) {
    this.container = container;
    this.options = { conversationId, conversationName, csrfToken, onSent };
    this.maxSeconds = Number(container.dataset.maxSeconds) || MAX_RECORDING_SECONDS;
    this.recorder = new VoiceRecorder({ maxSeconds: this.maxSeconds });
    this.recordButton = new RecordButton();
    this.meter = new LevelMeter();
    this.build();
    this.bind();
    this.take = null; // a finished recording kept until it is sent or discarded
    this.settled = [];
    if (carried) this.review(carried.take, "carried", carried);
    else this.idle();
  }

  build() {
    this.send = button(_("Send"), "send-voice");
    this.discard = button(_("Discard"), "secondary", "cancel-voice");
    this.retry = button(_("Retry upload"), "retry-voice");
    this.timer = document.createElement("span");
    this.timer.className = "timer";
    this.timer.setAttribute("role", "timer");
    this.timer.setAttribute("aria-label", _("Recording time"));
    this.progress = document.createElement("progress");
    this.progress.max = 1;
    this.status = document.createElement("p");
    this.status.classList.add("notice", "voice-status");
    this.status.setAttribute("role", "status");
    this.status.setAttribute("aria-live", "polite");
    this.reviewSlot = document.createElement("span");
    this.reviewSlot.className = "review-slot";
    this.parts = [
      this.recordButton.element, this.timer, this.meter.element, this.reviewSlot,
      this.progress, this.send, this.discard, this.retry,
    ];
    this.container.replaceChildren(...this.parts, this.status);
  }

  bind() {
    const gestures = {
      press: () => this.press(),
      slide: (event) => this.slide(event.detail),
      release: () => this.release(),
      "slide-cancel": () => this.cancel(),
      lock: () => this.lock(),
      lost: () => this.interrupt("lost"),
      toggle: () => this.toggle(),
    };
    for (const [name, handler] of Object.entries(gestures)) this.recordButton.addEventListener(name, handler);
    this.send.addEventListener("click", () => this.sendNow());
    this.discard.addEventListener("click", () => this.cancel());
    this.retry.addEventListener("click", () => this.upload());
    this.recorder.addEventListener("tick", (event) => this.showTime(event.detail.elapsed));
    this.recorder.addEventListener("state", (event) => this.recorderState(event.detail));
    this.onKey = (event) => {
      if (event.key?.toLowerCase() === "escape" && this.recorder.state !== "idle") {
        event.preventDefault();
        this.cancel();
      }
    };
    // Hidden (another tab or app, a locked phone), frozen in the background, or left.
    this.onHide = (event) => {
      if (event.type !== "visibilitychange" || document.visibilityState === "hidden") this.interrupt("hidden");
    };
    document.addEventListener("keydown", this.onKey);
    for (const name of PAGE_HIDE_EVENTS) document.addEventListener(name, this.onHide);
    window.addEventListener("pagehide", this.onHide);
  }

  /** What the container shows; `state` and `mode` also land on it for styles and tests. */
  show(state, elements, message = "") {
    this.container.dataset.state = state;
    this.container.dataset.mode = this.mode ?? "";
    this.status.textContent = message;
    // The parts stay in place and are hidden or shown: a held button keeps its pointer
    // capture, and keyboard focus stays on the same button while it is still shown.
    const focused = this.container.contains(document.activeElement) ? document.activeElement : null;
    for (const part of this.parts) part.hidden = !elements.includes(part);
    if (focused?.hidden || (this.focusLost && document.activeElement === document.body)) {
      const next = this.parts.find((part) => part.localName === "button" && !part.hidden);
      next?.focus();
      // While only the upload's progress shows, focus comes back to the next button.
      this.focusLost = !next && (Boolean(focused) || this.focusLost);
    }
  }

  idle(message = "") {
    this.mode = null;
    this.take = null;
    this.carried = null;
    this.reviewer?.destroy();
    this.reviewer = null;
    this.reviewSlot.replaceChildren();
    this.meter.stop();
    this.recordButton.show(false);
    this.recordButton.element.style.transform = "";
    this.show("idle", [this.recordButton.element], message);
    this.settled.splice(0).forEach((resolve) => resolve());
  }

  async begin(mode) {
    this.mode = mode;
    this.recordButton.show(true);
    this.show("starting", [this.recordButton.element]);
    try {
      if (!(await this.recorder.start())) return;
    } catch (error) {
      this.idle(error.message);
      return;
    }
    if (this.mode === "tapped") this.tooShort();
    else if (this.mode === "cancelled") this.cancel();
    else this.recording();
  }

  recording() {
    const controls = this.mode === "hold" ? [] : [this.send, this.discard];
    const hint = this.mode === "hold" ? _("Release to send. Slide left to cancel, up to lock.") : _("Recording…");
    this.showTime(this.recorder.elapsedSeconds);
    this.show("recording", [this.recordButton.element, this.timer, this.meter.element, ...controls], hint);
    this.meter.start(this.recorder);
  }

  showTime(elapsed) {
    this.timer.textContent = `${formatSeconds(Math.floor(elapsed))} / ${formatSeconds(this.maxSeconds)}`;
  }

  recorderState({ state, reason }) {
    if (state === "ending-soon") {
      const left = Math.max(1, Math.ceil(this.maxSeconds - this.recorder.elapsedSeconds));
      this.status.textContent = ngettext(
        "The recording stops in %(num)d second.",
        "The recording stops in %(num)d seconds.",
        left,
      );
    } else if (state === "ended" && reason === "limit") {
      // Stopped at the limit: the take waits for the person's answer (stop() resolves it).
      this.recorder.stopping.then((take) => this.review(take, "limit"));
    }
  }

  // Touch: hold to record.
  press() {
    if (this.recorder.state === "idle" && !this.take) this.begin("hold");
  }

  slide({ dx, dy }) {
    if (this.mode === "hold") this.recordButton.element.style.transform = `translate(${dx / 2}px, ${dy / 2}px)`;
  }

  async release() {
    // A tap on the Stop button of a locked take (touch taps are no clicks here).
    if (this.mode === "locked" || this.mode === "toggle") return this.toggle();
    if (this.mode !== "hold") return;
    if (this.recorder.state === "starting") {
      this.mode = "tapped";
      return;
    }
    if (this.recorder.elapsedSeconds < MIN_HOLD_SECONDS) {
      this.tooShort();
      return;
    }
    await this.sendNow();
  }

  tooShort() {
    this.recorder.cancel();
    this.idle(_("Hold the button to record, release to send."));
  }

  lock() {
    if (this.mode !== "hold") return;
    this.mode = "locked";
    this.recordButton.element.style.transform = "";
    if (this.recorder.isRecording) this.recording();
  }

  // Mouse and keyboard: toggle; the second press stops for a review.
  async toggle() {
    if (this.recorder.state === "idle" && !this.take) await this.begin("toggle");
    else if (this.recorder.isRecording) this.review(await this.recorder.stop(), "stopped");
  }

  cancel() {
    if (this.recorder.state === "starting") this.mode = "cancelled";
    else if (this.recorder.state !== "idle" && this.recorder.state !== "ended") this.recorder.cancel();
    this.idle("");
  }

  review(take, reason, carried = null) {
    this.recorder.reset();
    this.meter.stop();
    this.mode = "review";
    this.take = take;
    this.carried = carried;
    this.reviewer?.destroy();
    this.reviewer = new RecordingReview(take);
    this.reviewSlot.replaceChildren(this.reviewer.element);
    this.recordButton.show(false);
    const message = reviewMessage(reason, { maxSeconds: this.maxSeconds, carried });
    this.show("review", [this.reviewSlot, this.send, this.discard], message);
  }

  async sendNow() {
    if (this.recorder.isRecording) {
      this.take = await this.recorder.stop();
      this.recorder.reset();
    }
    if (this.take) await this.upload();
  }

  async upload() {
    this.reviewer?.element.pause();
    this.show("uploading", [this.progress], _("Sending…"));
    this.progress.value = 0;
    const target = this.carried?.conversationId ?? this.options.conversationId;
    // The take keeps its key: every try of it, automatic or the Retry button, is one message.
    this.take.clientId ??= newClientId();
    for (let attempt = 0; ; attempt += 1) {
      try {
        const message = await uploadVoice({
          ...this.take,
          conversationId: target,
          csrfToken: this.options.csrfToken,
          onProgress: (fraction) => (this.progress.value = fraction),
        });
        this.idle("");
        this.options.onSent?.(message);
        return;
      } catch (error) {
        if (!isRetryable(error.status) || attempt + 1 >= UPLOAD_TRIES || !this.take) {
          const text = _("Not sent: %(reason)s. Your recording is kept.", { reason: error.message });
          if (this.take) this.show("failed", [this.retry, this.discard], text);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelay(attempt)));
      }
    }
  }

  /**
   * The page takes the microphone back (hidden, left, logging out): the tracks stop now
   * and the take waits in the review. Resolves once nothing is left to send or discard.
   */
  async interrupt(reason) {
    if (this.recorder.state === "starting") this.cancel();
    else if (this.recorder.isRecording) this.review(await this.recorder.stop(reason), reason);
    else if (this.take && ["review", "failed"].includes(this.container.dataset.state)) {
      this.status.textContent = reviewMessage(reason, { maxSeconds: this.maxSeconds, carried: this.carried });
    }
    if (this.container.dataset.state === "idle") return;
    await new Promise((resolve) => this.settled.push(resolve));
  }

  /**
   * Another conversation opens: everything this composer holds is released and a kept
   * take (with the conversation it belongs to) is handed over for the question.
   */
  async destroy() {
    document.removeEventListener("keydown", this.onKey);
    for (const name of PAGE_HIDE_EVENTS) document.removeEventListener(name, this.onHide);
    window.removeEventListener("pagehide", this.onHide);
    this.recordButton.destroy();
    this.meter.destroy();
    let take = this.take;
    if (this.recorder.state === "starting") this.cancel();
    else if (this.recorder.isRecording) take = await this.recorder.stop("left");
    this.recorder.destroy();
    this.reviewer?.destroy();
    if (!take || this.container.dataset.state === "uploading") return null;
    const carried = this.carried ?? {
      conversationId: this.options.conversationId,
      conversationName: this.options.conversationName,
    };
    return { ...carried, take };
  }
}
