// Text of a message with its web addresses made clickable, built with DOM nodes only:
// the person's text is never parsed as HTML, and only http(s) addresses become links.

// An address runs to the next space; closing punctuation at its end stays outside it.
const ADDRESS = /\bhttps?:\/\/[^\s<>\x22]+/gi;
const TRAILING = /[.,;:!?。，、；：！？)\]}\x27\x22》」』）]+$/u;

function link(address) {
  let url;
  try {
    url = new URL(address);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const anchor = document.createElement("a");
  anchor.href = url.href;
  anchor.textContent = address;
  anchor.target = "_blank";
  anchor.relList.add("noopener", "noreferrer");
  return anchor;
}

/** Appends `text` to `element`: text nodes, and links for its http(s) addresses. */
export function appendLinkified(element, text) {
  let position = 0;
  for (const match of text.matchAll(ADDRESS)) {
    const address = match[0].replace(TRAILING, "");
    const anchor = address && link(address);
    if (!anchor) continue;
    element.append(text.slice(position, match.index), anchor);
    position = match.index + address.length;
  }
  element.append(text.slice(position));
}
