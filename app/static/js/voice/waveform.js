// The seek bar of a voice message: its waveform (or a plain bar for older messages),
// played part highlighted; tap/drag (Pointer Events) and arrow keys seek (role=slider).
import { _ } from "../i18n.js";
import { formatSeconds } from "./time.js";

const SVG = "http://www.w3.org/2000/svg";
// How far an arrow key moves, and Page Up/Page Down, in seconds.
export const ARROW_STEP_SECONDS = 2;
export const PAGE_STEP_SECONDS = 10;
// Part of each bar's slot left empty, so the bars read as bars.
const BAR_GAP = 0.35;
// The shortest bar drawn (of 100): silence still shows where the message is.
const MIN_BAR = 6;
let clipCount = 0;

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

/** The peaks as 0..100 integers, or null when the message has none (older ones). */
export function cleanPeaks(peaks) {
  if (!Array.isArray(peaks) || !peaks.length) return null;
  return peaks.map((peak) => Math.min(100, Math.max(0, Number(peak) || 0)));
}

export class Waveform {
  /** onSeek(seconds) is called while the person taps, drags or uses the keys. */
  constructor({ peaks, onSeek }) {
    this.onSeek = onSeek;
    this.elapsed = 0;
    this.total = 0;
    this.dragging = null;
    this.element = document.createElement("div");
    this.element.className = "waveform";
    this.element.tabIndex = 0;
    this.element.setAttribute("role", "slider");
    this.element.setAttribute("aria-label", _("Position in the voice message"));
    this.element.setAttribute("aria-valuemin", "0");
    this.clipId = `waveform-played-${++clipCount}`;
    this.svg = svgElement("svg", { preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" });
    this.element.append(this.svg);
    this.setPeaks(peaks);
    this.listeners = {
      pointerdown: (event) => this.pointerDown(event),
      pointermove: (event) => this.pointerMove(event),
      pointerup: (event) => this.pointerUp(event),
      pointercancel: (event) => this.pointerUp(event),
      keydown: (event) => this.keyDown(event),
    };
    for (const [type, listener] of Object.entries(this.listeners)) this.element.addEventListener(type, listener);
  }

  /** Draws the peaks (a new list arrives when the transcode ends); null draws a plain bar. */
  setPeaks(peaks) {
    this.peaks = cleanPeaks(peaks);
    const width = this.peaks ? this.peaks.length : 1;
    this.width = width;
    this.element.dataset.kind = this.peaks ? "peaks" : "plain";
    this.svg.setAttribute("viewBox", `0 0 ${width} 100`);
    const bars = () => {
      const group = svgElement("g", {});
      if (!this.peaks) {
        group.append(svgElement("rect", { x: 0, y: 42, width: 1, height: 16, rx: 0 }));
        return group;
      }
      this.peaks.forEach((peak, index) => {
        const height = Math.max(MIN_BAR, peak);
        group.append(
          svgElement("rect", { x: index + BAR_GAP / 2, y: (100 - height) / 2, width: 1 - BAR_GAP, height }),
        );
      });
      return group;
    };
    this.clipRect = svgElement("rect", { x: 0, y: 0, width: 0, height: 100 });
    const clip = svgElement("clipPath", { id: this.clipId });
    clip.append(this.clipRect);
    const base = bars();
    base.classList.add("bars");
    const played = bars();
    played.classList.add("bars", "played");
    played.setAttribute("clip-path", `url(#${this.clipId})`);
    this.svg.replaceChildren(svgElement("defs", {}), base, played);
    this.svg.firstChild.append(clip);
    this.show(this.elapsed, this.total);
  }

  /** Where playback is: the played part, and the slider's value for assistive technology. */
  show(elapsed, total) {
    this.elapsed = Number.isFinite(elapsed) ? elapsed : 0;
    this.total = Number.isFinite(total) && total > 0 ? total : 0;
    const fraction = this.total ? Math.min(this.elapsed / this.total, 1) : 0;
    this.clipRect.setAttribute("width", String(fraction * this.width));
    this.element.setAttribute("aria-valuemax", String(Math.round(this.total * 10) / 10));
    this.element.setAttribute("aria-valuenow", String(Math.round(Math.min(this.elapsed, this.total) * 10) / 10));
    this.element.setAttribute(
      "aria-valuetext",
      _("%(elapsed)s of %(total)s", { elapsed: formatSeconds(this.elapsed), total: formatSeconds(this.total) }),
    );
  }

  seekTo(seconds) {
    if (!this.total) return;
    const clamped = Math.min(Math.max(seconds, 0), this.total);
    this.show(clamped, this.total);
    this.onSeek(clamped);
  }

  seekToPointer(event) {
    const box = this.element.getBoundingClientRect();
    if (!box.width) return;
    this.seekTo(((event.clientX - box.left) / box.width) * this.total);
  }

  pointerDown(event) {
    if (event.button !== 0 || !this.total) return;
    event.preventDefault();
    this.element.focus({ preventScroll: true });
    this.dragging = event.pointerId;
    this.element.setPointerCapture(event.pointerId);
    this.element.classList.add("dragging");
    this.seekToPointer(event);
  }

  pointerMove(event) {
    if (this.dragging === event.pointerId) this.seekToPointer(event);
  }

  pointerUp(event) {
    if (this.dragging !== event.pointerId) return;
    this.dragging = null;
    this.element.classList.remove("dragging");
    if (this.element.hasPointerCapture(event.pointerId)) this.element.releasePointerCapture(event.pointerId);
  }

  keyDown(event) {
    const targets = {
      ArrowRight: this.elapsed + ARROW_STEP_SECONDS,
      ArrowUp: this.elapsed + ARROW_STEP_SECONDS,
      ArrowLeft: this.elapsed - ARROW_STEP_SECONDS,
      ArrowDown: this.elapsed - ARROW_STEP_SECONDS,
      PageUp: this.elapsed + PAGE_STEP_SECONDS,
      PageDown: this.elapsed - PAGE_STEP_SECONDS,
      Home: 0,
      End: this.total,
    };
    if (!Object.hasOwn(targets, event.key)) return;
    event.preventDefault();
    this.seekTo(targets[event.key]);
  }

  destroy() {
    for (const [type, listener] of Object.entries(this.listeners)) this.element.removeEventListener(type, listener);
    this.element.remove();
  }
}
