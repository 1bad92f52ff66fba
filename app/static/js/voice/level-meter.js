// A live microphone level: a <meter> fed from the recorder's analyser once per frame.
import { _ } from "../i18n.js";

export class LevelMeter {
  constructor() {
    this.element = document.createElement("meter");
    this.element.className = "level";
    this.element.min = 0;
    this.element.max = 1;
    this.element.low = 0.25;
    this.element.high = 0.9;
    this.element.optimum = 0.5;
    this.element.value = 0;
    this.element.setAttribute("aria-label", _("Microphone level"));
    this.frame = null;
  }

  /** Follows `source.level()` (0..1) until stop(). */
  start(source) {
    this.stop();
    const draw = () => {
      this.element.value = source.level();
      this.frame = requestAnimationFrame(draw);
    };
    this.frame = requestAnimationFrame(draw);
  }

  stop() {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.element.value = 0;
  }

  destroy() {
    this.stop();
  }
}
