// Plays one voice message: m4a > mp3 > url > raw, with one retry on the raw file.
import { _ } from "../i18n.js";
import { audioTypeFromUrl } from "./compat.js";
import { claimPlayback, releasePlayback } from "./playback-manager.js";

/** Old messages hold a plain URL; new ones the JSON of {url, url_raw, url_m4a, url_mp3, duration}. */
export function parseAudioContent(content) {
  if (typeof content === "string" && content.trim().startsWith("{")) {
    try {
      const parsed = JSON.parse(content);
      return { url: null, url_raw: null, url_m4a: null, url_mp3: null, duration: null, ...parsed };
    } catch {
      // Not JSON after all: treat it as a URL below.
    }
  }
  return { url: content, url_raw: null, url_m4a: null, url_mp3: null, duration: null };
}

export function playbackOrder(audio) {
  const urls = [audio.url_m4a, audio.url_mp3, audio.url, audio.url_raw].filter(Boolean);
  return [...new Set(urls)];
}

export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–:––";
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

export class VoicePlayer {
  constructor(container, content) {
    this.audioInfo = parseAudioContent(content);
    this.element = document.createElement("div");
    this.element.className = "voice-player";
    this.button = document.createElement("button");
    this.button.className = "play";
    this.button.textContent = "▶";
    this.button.setAttribute("aria-label", _("Play voice message"));
    this.progress = document.createElement("progress");
    this.progress.max = 1;
    this.progress.value = 0;
    this.time = document.createElement("span");
    this.time.className = "time";
    this.time.textContent = formatSeconds(this.audioInfo.duration);
    this.error = document.createElement("span");
    this.error.className = "error";
    this.audio = document.createElement("audio");
    this.audio.preload = "none";
    this.audio.playsInline = true;
    this.audio.setAttribute("playsinline", "");
    this.element.append(this.button, this.progress, this.time, this.error, this.audio);
    container.replaceChildren(this.element);
    this.bind();
  }

  /** New content for the same message (e.g. once the m4a exists); playback is not interrupted. */
  update(content) {
    this.audioInfo = parseAudioContent(content);
    if (this.audio.paused && !this.audio.currentTime) {
      this.audio.removeAttribute("src");
      this.retried = false;
      this.time.textContent = formatSeconds(this.audioInfo.duration);
    }
  }

  bind() {
    // Playback starts only from the person's tap: iOS refuses audio started otherwise.
    this.button.addEventListener("click", () => (this.audio.paused ? this.play() : this.pause()));
    this.audio.addEventListener("timeupdate", () => this.showProgress());
    this.audio.addEventListener("play", () => (this.button.textContent = "❚❚"));
    this.audio.addEventListener("pause", () => (this.button.textContent = "▶"));
    this.audio.addEventListener("ended", () => {
      this.button.textContent = "▶";
      releasePlayback(this);
    });
    this.audio.addEventListener("error", () => this.retryWithRaw());
  }

  play() {
    claimPlayback(this);
    if (!this.audio.src) this.load(this.firstPlayable());
    this.error.textContent = "";
    this.audio.play().catch((error) => {
      if (error.name !== "AbortError") this.retryWithRaw();
    });
  }

  pause() {
    this.audio.pause();
  }

  firstPlayable() {
    const order = playbackOrder(this.audioInfo);
    return order.find((url) => this.audio.canPlayType(audioTypeFromUrl(url)) !== "") ?? order[0];
  }

  load(url) {
    this.audio.src = url;
    this.audio.dataset.type = audioTypeFromUrl(url);
    this.audio.load();
  }

  retryWithRaw() {
    const raw = this.audioInfo.url_raw;
    if (!this.retried && raw && !this.audio.src.endsWith(raw)) {
      this.retried = true;
      this.load(raw);
      this.audio.play().catch(() => this.showError());
      return;
    }
    this.showError();
  }

  showError() {
    this.button.textContent = "▶";
    this.error.textContent = _("This voice message cannot be played here.");
  }

  showProgress() {
    const total = Number.isFinite(this.audio.duration) ? this.audio.duration : this.audioInfo.duration;
    if (total) this.progress.value = Math.min(this.audio.currentTime / total, 1);
    this.time.textContent = `${formatSeconds(this.audio.currentTime)} / ${formatSeconds(total)}`;
  }
}
