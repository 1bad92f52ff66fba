// Text for people in the page's language: the server's compiled gettext catalog (embedded
// by base.html as JSON), plural forms through Intl.PluralRules, dates through Intl.

const catalog = JSON.parse(document.getElementById("i18n-catalog")?.textContent || "{}");
export const locale = catalog.locale || document.documentElement.lang || "en";
const messages = catalog.messages || {};
// The catalog's plural forms, in gettext order, named by their CLDR category.
const categories = catalog.plural_categories || ["one", "other"];
const pluralRules = new Intl.PluralRules(locale);

/** Fills %(name)s / %(name)d placeholders, the gettext style the server uses too. */
export function format(text, values = {}) {
  return text.replace(/%\((\w+)\)[sd]/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function _(msgid, values) {
  const translated = messages[msgid];
  return format(typeof translated === "string" && translated ? translated : msgid, values);
}

export function ngettext(singular, plural, num, values = {}) {
  const forms = messages[singular];
  let index = categories.indexOf(pluralRules.select(num));
  if (index < 0) index = categories.length - 1;
  const text = Array.isArray(forms) && forms[index] ? forms[index] : num === 1 ? singular : plural;
  return format(text, { num, ...values });
}

const timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });

/** A message's time in the person's language and time zone (the browser's). */
export function formatTime(value) {
  return timeFormat.format(new Date(value));
}

export function formatDateTime(value) {
  return dateTimeFormat.format(new Date(value));
}

const listFormat = new Intl.ListFormat(locale, { style: "long", type: "conjunction" });

/** "Alice, Bob and Carol" / "Alice、Bob和Carol". */
export function formatList(items) {
  return listFormat.format(items);
}
