// Owns the microphone, the encoder, the level analyser and the screen wake lock; reports
// its state and never touches the DOM.
import { describeMicrophoneError, pickRecordingType, recordingUnavailableReason } from "./compat.js";

// Two minutes unless the page says otherwise (VOICE_MAX_SECONDS on the server): long
// enough for a spoken note, short enough to upload on a phone network.
export const MAX_RECORDING_SECONDS = 120;
// The UI warns this long before the recording stops at its limit (in the second half of
// a shorter limit).
export const ENDING_SOON_SECONDS = 10;
const TICK_MS = 250;
// Voice messages are not calls: nothing plays while recording, so echo cancellation is
// pointless, and automatic gain or noise suppression would change the sender's voice.
const CAPTURE_CONSTRAINTS = { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false };
// 2048 samples (≈43 ms at 48 kHz): one animation frame's worth of the level, smooth enough.
const ANALYSER_FFT_SIZE = 2048;

export class VoiceRecorder extends EventTarget {
  static get unavailableReason() {
    return recordingUnavailableReason();
  }

  constructor({ maxSeconds = MAX_RECORDING_SECONDS } = {}) {
    super();
    this.maxSeconds = maxSeconds;
    this.state = "idle";
  }

  get elapsedSeconds() {
    return this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
  }

  get warningSeconds() {
    return Math.min(ENDING_SOON_SECONDS, this.maxSeconds / 2);
  }

  get isRecording() {
    return this.state === "recording" || this.state === "ending-soon";
  }

  async start() {
    if (this.state !== "idle") throw new Error(`cannot start a recorder that is ${this.state}`);
    const reason = VoiceRecorder.unavailableReason;
    if (reason) throw new Error(reason);
    this.setState("starting");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: CAPTURE_CONSTRAINTS });
      if (this.state !== "starting") {
        // Cancelled (or destroyed) while the browser was asking for the microphone.
        this.releaseMicrophone();
        return false;
      }
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
    this.openAnalyser();
    this.holdWakeLock();
    this.startedAt = performance.now();
    this.setState("recording");
    this.timer = setInterval(() => this.tick(), TICK_MS);
    return true;
  }

  /** The level meter's input; a failure here only costs the meter, never the recording. */
  openAnalyser() {
    try {
      this.audioContext = new AudioContext();
      this.analyser = this.audioContext.createAnalyser();
      this.analyser.fftSize = ANALYSER_FFT_SIZE;
      this.audioContext.createMediaStreamSource(this.stream).connect(this.analyser);
      this.samples = new Float32Array(this.analyser.fftSize);
    } catch (error) {
      console.warn("no level meter:", error);
      this.analyser = null;
    }
  }

  /**
   * The screen stays on while recording where the browser allows it (not everywhere). The
   * browser drops the lock when the page is hidden, and hiding the page ends the take
   * (composer.js), so a take never needs the lock again.
   */
  holdWakeLock() {
    if (!navigator.wakeLock?.request) return;
    // The answer may come after this take ended (even after the next one began): a
    // lock granted late to a take that is over goes back at once.
    const stream = this.stream;
    navigator.wakeLock.request("screen").then(
      (sentinel) => {
        if (this.isRecording && this.stream === stream) this.wakeLock = sentinel;
        else sentinel.release().catch(() => {});
      },
      (error) => console.info("no screen wake lock:", error.name),
    );
  }

  /** The input's loudness now, 0 (silence) to 1 (full scale), from its RMS. */
  level() {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    const rms = Math.sqrt(sum / this.samples.length);
    // Speech sits around -30 to -10 dBFS: show -60..0 dBFS across the meter.
    const dbfs = 20 * Math.log10(rms || 1e-9);
    return Math.min(1, Math.max(0, (dbfs + 60) / 60));
  }

  tick() {
    const elapsed = this.elapsedSeconds;
    this.dispatchEvent(new CustomEvent("tick", { detail: { elapsed } }));
    if (elapsed >= this.maxSeconds) this.stop("limit");
    else if (elapsed >= this.maxSeconds - this.warningSeconds && this.state === "recording") {
      this.setState("ending-soon");
    }
  }

  /**
   * Stops and resolves with { blob, duration, mimeType }. The microphone goes off at once;
   * the encoder's last chunk arrives a moment later. `reason` travels with the "ended"
   * state: "stopped", "limit" (the maximum length), or why the page interrupted it.
   */
  stop(reason = "stopped") {
    if (this.stopping) return this.stopping;
    if (!this.isRecording) {
      return Promise.reject(new Error(`cannot stop a recorder that is ${this.state}`));
    }
    const duration = Math.min(this.elapsedSeconds, this.maxSeconds);
    clearInterval(this.timer);
    this.stopping = new Promise((resolve) => {
      this.recorder.addEventListener(
        "stop",
        () => {
          const blob = new Blob(this.chunks, { type: this.mimeType });
          this.setState("ended", { reason });
          resolve({ blob, duration, mimeType: this.mimeType });
        },
        { once: true },
      );
      this.recorder.stop();
    });
    this.releaseMicrophone();
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
    this.recorder = null;
    this.chunks = [];
    this.setState("idle");
  }

  /** Every track stopped (the browser's microphone indicator goes off), analyser closed. */
  releaseMicrophone() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.audioContext?.close().catch(() => {});
    this.audioContext = null;
    this.analyser = null;
    this.wakeLock?.release().catch(() => {});
    this.wakeLock = null;
  }

  /** Like element-web's VoiceRecording.destroy(): nothing of the recorder stays alive. */
  destroy() {
    if (this.state !== "idle") this.cancel();
    this.releaseMicrophone();
  }

  setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }
}
