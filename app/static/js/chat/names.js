// Lists of names as people type them: ASCII ",", full-width "，" and the enumeration
// comma "、" (what Chinese input methods give) all separate names.
export const SEPARATORS = /[,，、;；]/;

export function splitNames(text) {
  return text
    .split(SEPARATORS)
    .map((name) => name.trim())
    .filter(Boolean);
}
