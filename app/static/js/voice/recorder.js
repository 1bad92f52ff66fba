// Owns the microphone and the encoder; reports its state and never touches the DOM.
import { describeMicrophoneError, pickRecordingType, recordingUnavailableReason } from "./compat.js";

// Two minutes: long enough for a spoken note, short enough to upload on a phone network.
export const MAX_RECORDING_SECONDS = 120;
// The UI warns this long before the automatic stop.
export const ENDING_SOON_SECONDS = 10;
const TICK_MS = 250;
// Voice messages are not calls: nothing plays while recording, so echo cancellation is
// pointless, and automatic gain or noise suppression would change the sender's voice.
const CAPTURE_CONSTRAINTS = { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false };

export class VoiceRecorder extends EventTarget {
  static get unavailableReason() {
    return recordingUnavailableReason();
  }

  constructor() {
    super();
    this.state = "idle";
  }

  get elapsedSeconds() {
    return this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
  }

  async start() {
    if (this.state !== "idle") throw new Error(`cannot start a recorder that is ${this.state}`);
    const reason = VoiceRecorder.unavailableReason;
    if (reason) throw new Error(reason);
    this.setState("starting");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: CAPTURE_CONSTRAINTS });
      this.mimeType = pickRecordingType();
      this.chunks = [];
      this.recorder = new MediaRecorder(this.stream, { mimeType: this.mimeType });
      this.recorder.addEventListener("dataavailable", (event) => {
        if (event.data.size) this.chunks.push(event.data);
      });
      this.recorder.start(1000);
    } catch (error) {
      this.releaseMicrophone();
      this.setState("idle");
      throw new Error(describeMicrophoneError(error));
    }
    this.startedAt = performance.now();
    this.setState("recording");
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  tick() {
    const elapsed = this.elapsedSeconds;
    this.dispatchEvent(new CustomEvent("tick", { detail: { elapsed } }));
    if (elapsed >= MAX_RECORDING_SECONDS) this.stop("limit");
    else if (elapsed >= MAX_RECORDING_SECONDS - ENDING_SOON_SECONDS && this.state === "recording") {
      this.setState("ending-soon");
    }
  }

  /** Stops and resolves with { blob, duration, mimeType }; reason "limit" for the automatic stop. */
  stop(reason = "stopped") {
    if (this.stopping) return this.stopping;
    if (this.state !== "recording" && this.state !== "ending-soon") {
      return Promise.reject(new Error(`cannot stop a recorder that is ${this.state}`));
    }
    const duration = this.elapsedSeconds;
    clearInterval(this.timer);
    this.stopping = new Promise((resolve) => {
      this.recorder.addEventListener(
        "stop",
        () => {
          this.releaseMicrophone();
          const blob = new Blob(this.chunks, { type: this.mimeType });
          this.setState("ended", { reason });
          resolve({ blob, duration, mimeType: this.mimeType });
        },
        { once: true },
      );
      this.recorder.stop();
    });
    return this.stopping;
  }

  /** Drops the recording and turns the microphone off. */
  cancel() {
    clearInterval(this.timer);
    if (this.recorder?.state === "recording") this.recorder.stop();
    this.releaseMicrophone();
    this.reset();
  }

  /** Ready for the next recording (the last one's blob belongs to the caller). */
  reset() {
    this.stopping = null;
    this.startedAt = null;
    this.setState("idle");
  }

  releaseMicrophone() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
  }

  setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }
}
