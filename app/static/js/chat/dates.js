// Days and relative times in the person's language and time zone (the browser's), via Intl.
import { _, locale } from "../i18n.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" });
const monthDay = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" });
const fullDate = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });
const longDay = new Intl.DateTimeFormat(locale, { weekday: "long", month: "long", day: "numeric" });
const longDayWithYear = new Intl.DateTimeFormat(locale, { dateStyle: "full" });

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** A key equal for two times on the same local calendar day. */
export function dayKey(value) {
  const date = new Date(value);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** Calendar days from `value`'s day to today's (0 today, 1 yesterday). */
function daysAgo(value, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(new Date(value))) / DAY);
}

/** A date separator's label: "Today", "Yesterday", else the date. */
export function dayLabel(value, now = new Date()) {
  const days = daysAgo(value, now);
  if (days === 0) return _("Today");
  if (days === 1) return _("Yesterday");
  const date = new Date(value);
  return date.getFullYear() === now.getFullYear() ? longDay.format(date) : longDayWithYear.format(date);
}

/** The conversation list's "now", "5 min ago", "yesterday", then a date. */
export function relativeTime(value, now = new Date()) {
  const date = new Date(value);
  const elapsed = now - date;
  if (elapsed < MINUTE) return relative.format(0, "second");
  if (elapsed < HOUR) return relative.format(-Math.floor(elapsed / MINUTE), "minute");
  const days = daysAgo(date, now);
  if (days === 0) return relative.format(-Math.floor(elapsed / HOUR), "hour");
  if (days < 7) return relative.format(-days, "day");
  return date.getFullYear() === now.getFullYear() ? monthDay.format(date) : fullDate.format(date);
}
