// The record button's gestures: press-and-hold on touch screens (slide left cancels,
// slide up locks), click or Space/Enter to toggle with a mouse or keyboard. It reports
// gestures as events and leaves recording to its owner.
import { _ } from "../i18n.js";

// A thumb's slide past this many CSS pixels is a decision, not a wobble.
export const CANCEL_SLIDE_PX = 80;
export const LOCK_SLIDE_PX = 60;

/**
 * Events: "press" (a finger went down), "slide" {dx, dy}, "release" (lifted),
 * "slide-cancel", "lock", "lost" (the browser took the pointer away), "toggle" (click/keys).
 */
export class RecordButton extends EventTarget {
  constructor() {
    super();
    this.element = document.createElement("button");
    this.element.type = "button";
    this.element.className = "record";
    this.gesture = null;
    this.lastDownType = "";
    this.handlers = {
      pointerdown: (event) => this.down(event),
      pointermove: (event) => this.move(event),
      pointerup: (event) => this.up(event, "release"),
      pointercancel: (event) => this.up(event, "lost"),
      click: (event) => this.click(event),
      contextmenu: (event) => event.preventDefault(), // a long press must not open a menu
    };
    for (const [name, handler] of Object.entries(this.handlers)) this.element.addEventListener(name, handler);
    this.show(false);
  }

  /** Idle ("Record") or recording ("Stop"), with aria-pressed following. */
  show(recording) {
    this.element.textContent = recording ? "⏹ " + _("Stop") : "🎤 " + _("Record");
    this.element.setAttribute("aria-pressed", String(recording));
    // The visible text is the accessible name; the longer hint is its description.
    this.element.title = recording ? _("Stop recording") : _("Record a voice message (hold on a touch screen)");
  }

  emit(name, detail = {}) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  down(event) {
    this.lastDownType = event.pointerType;
    if (event.pointerType === "mouse" || !event.isPrimary || this.gesture) return;
    event.preventDefault();
    this.element.setPointerCapture(event.pointerId);
    this.gesture = { id: event.pointerId, x: event.clientX, y: event.clientY };
    this.emit("press");
  }

  move(event) {
    if (this.gesture?.id !== event.pointerId) return;
    const dx = event.clientX - this.gesture.x;
    const dy = event.clientY - this.gesture.y;
    if (dx < -CANCEL_SLIDE_PX) this.finish(event, "slide-cancel");
    else if (dy < -LOCK_SLIDE_PX) this.finish(event, "lock");
    else this.emit("slide", { dx: Math.min(dx, 0), dy: Math.min(dy, 0) });
  }

  up(event, name) {
    if (this.gesture?.id === event.pointerId) this.finish(event, name);
  }

  finish(event, name) {
    this.gesture = null;
    if (this.element.hasPointerCapture(event.pointerId)) this.element.releasePointerCapture(event.pointerId);
    this.emit(name);
  }

  click(event) {
    // A touch gesture also ends in a click: the hold already did the work.
    const type = event.pointerType || (event.detail ? this.lastDownType : "");
    if (type === "touch" || type === "pen") return;
    this.emit("toggle");
  }

  destroy() {
    for (const [name, handler] of Object.entries(this.handlers)) this.element.removeEventListener(name, handler);
    this.gesture = null;
  }
}
