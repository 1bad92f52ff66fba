// Plays one voice message: m4a > mp3 > url > raw, with one retry on the raw file.
// Draws its waveform (seek by tap, drag or keys), follows the person's speed, reports
// when it was heard, shows the unheard dot and, to the sender, who heard it.
import { _, formatDateTime, formatList, formatTime } from "../i18n.js";
import { audioTypeFromUrl } from "./compat.js";
import { HEARD_AFTER_SECONDS, reportHeard } from "./heard-state.js";
import {
  claimPlayback,
  playNextUnheard,
  registerPlayer,
  releasePlayback,
  unregisterPlayer,
} from "./playback-manager.js";
import { chooseSpeed, currentSpeed, formatSpeed, nextSpeed, onSpeedChange } from "./playback-speed.js";
import { formatSeconds } from "./time.js";
import { Waveform } from "./waveform.js";


const EMPTY = { url: null, url_raw: null, url_m4a: null, url_mp3: null, duration: null, waveform: null };

/** Old messages hold a plain URL; new ones the JSON of {url, url_raw, url_m4a, url_mp3, duration, waveform}. */
export function parseAudioContent(content) {
  if (typeof content === "string" && content.trim().startsWith("{")) {
    try {
      return { ...EMPTY, ...JSON.parse(content) };
    } catch {
      // Not JSON after all: treat it as a URL below.
    }
  }
  return { ...EMPTY, url: content };
}

export function playbackOrder(audio) {
  const urls = [audio.url_m4a, audio.url_mp3, audio.url, audio.url_raw].filter(Boolean);
  return [...new Set(urls)];
}

function element(tag, className, text = "") {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

export class VoicePlayer {
  /** message: {id, sender_id, heard_by} when known; myId: the viewer; recipients: how many others. */
  constructor(container, content, { message = null, myId = null, recipients = 0 } = {}) {
    this.audioInfo = parseAudioContent(content);
    this.messageId = message?.id ?? null;
    this.mine = message != null && message.sender_id === myId;
    this.myId = myId;
    this.recipients = recipients;
    this.heardBy = new Map((message?.heard_by ?? []).map((record) => [record.user_id, record]));
    this.element = element("div", "voice-player");
    this.element.dataset.state = "paused";
    this.button = element("button", "play", "▶");
    this.button.type = "button";
    this.waveform = new Waveform({ peaks: this.audioInfo.waveform, onSeek: (seconds) => this.seek(seconds) });
    this.time = element("span", "time");
    this.speedButton = element("button", "speed");
    this.speedButton.classList.add("secondary");
    this.speedButton.type = "button";
    this.dot = element("span", "unheard-dot");
    this.dot.setAttribute("role", "img");
    this.dot.setAttribute("aria-label", _("Not heard yet"));
    this.heardLine = element("span", "heard-by");
    this.error = element("span", "error");
    this.audio = document.createElement("audio");
    this.audio.preload = "none";
    this.audio.playsInline = true;
    this.audio.setAttribute("playsinline", "");
    this.element.append(
      this.button, this.waveform.element, this.time, this.speedButton, this.dot, this.heardLine, this.error, this.audio,
    );
    container.replaceChildren(this.element);
    this.showSpeed(currentSpeed());
    this.showState("paused");
    this.showProgress();
    this.showHeard();
    this.bind();
    registerPlayer(this);
  }

  /** New content for the same message (e.g. once the m4a and waveform exist); playback is not interrupted. */
  update(content) {
    this.audioInfo = parseAudioContent(content);
    this.waveform.setPeaks(this.audioInfo.waveform);
    // Only a player nobody touched takes the new sources: one playing, paused midway or
    // still loading for a seek keeps its file and its position.
    const untouched = this.audio.paused && !this.audio.currentTime && this.pendingSeek == null;
    if (untouched) {
      this.audio.removeAttribute("src");
      this.retried = false;
    }
    this.showProgress();
  }

  get unheardByMe() {
    return !this.mine && this.messageId != null && this.myId != null && !this.heardBy.has(this.myId);
  }

  /** A recipient heard it (from the server's answer or the event stream). */
  markHeard(record) {
    this.heardBy.set(record.user_id, record);
    this.showHeard();
  }

  bind() {
    // Playback starts from the person's tap (iOS refuses audio started otherwise), or
    // right after one that ended (auto-advance).
    const on = (target, type, listener) => {
      target.addEventListener(type, listener);
      this.unbinders.push(() => target.removeEventListener(type, listener));
    };
    this.unbinders = [onSpeedChange((speed) => this.showSpeed(speed))];
    on(this.button, "click", () => (this.audio.paused ? this.play() : this.pause()));
    on(this.speedButton, "click", () => chooseSpeed(nextSpeed()).catch((error) => (this.error.textContent = error.message)));
    on(this.audio, "timeupdate", () => this.showProgress());
    on(this.audio, "durationchange", () => this.showProgress());
    on(this.audio, "loadedmetadata", () => this.applyPendingSeek());
    on(this.audio, "play", () => this.showState("playing"));
    on(this.audio, "pause", () => this.showState(this.audio.ended ? "ended" : "paused"));
    on(this.audio, "ended", () => this.ended());
    on(this.audio, "error", () => this.retryWithRaw());
  }

  play({ automatic = false } = {}) {
    claimPlayback(this);
    if (this.unheardByMe) this.reporting = null;
    if (!this.audio.src) this.load(this.firstPlayable());
    this.error.textContent = "";
    this.audio.play().catch((error) => {
      if (automatic || error.name === "AbortError") this.showState("paused");
      else this.retryWithRaw();
    });
  }

  pause() {
    this.audio.pause();
  }

  ended() {
    this.showState("ended");
    this.reportIfHeard(true);
    releasePlayback(this);
    playNextUnheard(this);
  }

  seek(seconds) {
    if (!this.audio.src) {
      // Nothing loaded yet: fetch the metadata, then jump there.
      this.audio.preload = "metadata";
      this.load(this.firstPlayable());
    }
    if (this.audio.readyState >= HTMLMediaElement.HAVE_METADATA) this.audio.currentTime = seconds;
    else this.pendingSeek = seconds;
    this.showProgress(seconds);
  }

  applyPendingSeek() {
    if (this.pendingSeek == null) return;
    this.audio.currentTime = this.pendingSeek;
    this.pendingSeek = null;
  }

  firstPlayable() {
    const order = playbackOrder(this.audioInfo);
    return order.find((url) => this.audio.canPlayType(audioTypeFromUrl(url)) !== "") ?? order[0];
  }

  load(url) {
    this.audio.src = url;
    this.audio.dataset.type = audioTypeFromUrl(url);
    this.audio.load();
    // load() resets the rate to the default: set both.
    this.audio.defaultPlaybackRate = currentSpeed();
    this.audio.playbackRate = currentSpeed();
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
    this.showState("paused");
    this.error.textContent = _("This voice message cannot be played here.");
  }

  showState(state) {
    this.element.dataset.state = state;
    const playing = state === "playing";
    this.button.textContent = playing ? "❚❚" : "▶";
    this.button.setAttribute("aria-label", playing ? _("Pause voice message") : _("Play voice message"));
  }

  showSpeed(speed) {
    this.audio.defaultPlaybackRate = speed;
    this.audio.playbackRate = speed;
    this.speedButton.textContent = formatSpeed(speed);
    this.speedButton.setAttribute("aria-label", _("Playback speed: %(speed)s", { speed: formatSpeed(speed) }));
  }

  totalSeconds() {
    return Number.isFinite(this.audio.duration) && this.audio.duration > 0 ? this.audio.duration : this.audioInfo.duration;
  }

  showProgress(at = this.pendingSeek ?? this.audio.currentTime) {
    const total = this.totalSeconds();
    this.waveform.show(at, total);
    this.time.textContent = `${formatSeconds(at)} / ${formatSeconds(total)}`;
    this.reportIfHeard(false);
  }

  reportIfHeard(ended) {
    if (!this.unheardByMe || this.reporting) return;
    if (!ended && (this.audio.paused || this.audio.currentTime < HEARD_AFTER_SECONDS)) return;
    // One try per playback: a failure is tried again at the next play, not at every tick.
    this.reporting = reportHeard(this.messageId)
      .then((record) => this.markHeard(record))
      .catch((error) => console.warn("voice message not marked heard:", error));
  }

  showHeard() {
    const heard = [...this.heardBy.values()];
    const unheard = this.mine ? heard.length < this.recipients : this.unheardByMe;
    this.dot.hidden = !unheard;
    this.element.classList.toggle("unheard", unheard);
    this.heardLine.hidden = !this.mine || !heard.length;
    if (!this.mine || !heard.length) return;
    // Who heard it and when, visible (phones have no tooltips); the full date in the title.
    const names = heard.map((record) =>
      _("%(name)s (%(time)s)", { name: record.display_name, time: formatTime(record.heard_at) }),
    );
    this.heardLine.textContent = _("Heard by %(names)s", { names: formatList(names) });
    this.heardLine.title = heard
      .map((record) => _("%(name)s heard it on %(time)s", { name: record.display_name, time: formatDateTime(record.heard_at) }))
      .join("\n");
  }

  /** Stops playback and lets go of everything this player holds. */
  destroy() {
    this.audio.pause();
    this.audio.removeAttribute("src");
    this.unbinders.forEach((unbind) => unbind());
    this.waveform.destroy();
    unregisterPlayer(this);
    this.element.remove();
  }
}
