// The text composer: Enter sends, Shift+Enter starts a new line. On touch screens the
// keyboard's return key makes a new line (there is no Shift) and the Send button sends.
// An input method's Enter (choosing Chinese characters) never sends.

// The field grows with its text up to this many lines, then scrolls.
const MAX_ROWS = 6;

export class Composer {
  constructor(form, field) {
    this.form = form;
    this.field = field;
    this.touch = window.matchMedia("(pointer: coarse)");
    this.onKeyDown = (event) => this.keyDown(event);
    this.onInput = () => this.fit();
    field.addEventListener("keydown", this.onKeyDown);
    field.addEventListener("input", this.onInput);
  }

  keyDown(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    if (this.touch.matches) return;
    event.preventDefault();
    this.form.requestSubmit();
  }

  fit() {
    const lines = this.field.value.split("\n").length;
    this.field.rows = Math.min(MAX_ROWS, Math.max(1, lines));
  }

  clear() {
    this.form.reset();
    this.fit();
  }

  destroy() {
    this.field.removeEventListener("keydown", this.onKeyDown);
    this.field.removeEventListener("input", this.onInput);
  }
}
