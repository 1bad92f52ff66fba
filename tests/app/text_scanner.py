"""Finds text for people written straight into pages or scripts instead of the catalogs.

Pages: every text node and every attribute people read (placeholder, title, aria-label,
alt, label, value of input buttons) must come from {{ _(...) }}. Scripts: a string literal that
reads like words (it has a space between letters, is a capitalised word, ends in … ! ?, or
has a letter of a non-Latin script) must be an argument of _() or ngettext(). Lowercase single
words ("live") are beyond this heuristic: review catches those.
"""

import re
import unicodedata
from html.parser import HTMLParser

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "label", "value"}
TRANSLATING_CALLS = {"_", "ngettext"}
# Calls whose text is for developers, never shown: console output.
DEVELOPER_CALLS = {"warn", "log", "debug", "info"}
# Programming errors (a recorder started twice); the person never sees them.
ALLOWED_LITERALS = {"cannot start a recorder that is ", "cannot stop a recorder that is "}
# Names of keys (KeyboardEvent.key), compared with, never shown.
ALLOWED_LITERALS |= {"Enter"}


def has_letter(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def reads_like_words(text: str) -> bool:
    if not has_letter(text) or re.fullmatch(r"/\S*", text):  # nothing, or a URL path
        return False
    if any(unicodedata.category(ch).startswith("L") and ord(ch) > 0x24F for ch in text):
        return True
    return bool(
        re.search(r"[^\W\d_]\s+[^\W\d_]", text)
        or re.fullmatch(r"[A-Z][a-z]+[.!?…]?", text.strip())
        or re.search(r"[^\W\d_][…!?]$", text.strip())
    )


class _PageText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if name not in READ_ATTRIBUTES or not value:
                continue
            if name == "value" and (
                tag != "input" or attributes.get("type") not in ("submit", "button", "reset")
            ):
                continue
            if has_letter(value):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and has_letter(data):
            self.found.append(data.strip())


def page_text(source: str) -> list[str]:
    """Hard-coded text in a Jinja page (everything inside {{ }}, {% %}, {# #} is code)."""
    parser = _PageText()
    parser.feed(JINJA.sub(" ", source))
    parser.close()
    return parser.found


def _string_end(source: str, start: int) -> int:
    quote, index = source[start], start + 1
    depth = 0
    while index < len(source):
        ch = source[index]
        if ch == "\\":
            index += 2
            continue
        if quote == "`" and source.startswith("${", index):
            depth += 1
        elif quote == "`" and ch == "}" and depth:
            depth -= 1
        elif ch == quote and not depth:
            return index
        index += 1
    raise ValueError(f"unterminated string at {start}")


def script_literals(source: str):
    """Yields (literal text, enclosing call name) for every string literal of a script."""
    calls: list[str] = []
    index = 0
    while index < len(source):
        ch = source[index]
        if source.startswith("//", index):
            index = source.find("\n", index) % (len(source) + 1) or len(source)
        elif source.startswith("/*", index):
            index = source.index("*/", index) + 2
        elif ch in "\"'`":
            end = _string_end(source, index)
            text = re.sub(r"\$\{.*?\}", "", source[index + 1 : end], flags=re.S)
            yield text, calls[-1] if calls else ""
            index = end + 1
        else:
            if ch == "(":
                name = re.search(r"([A-Za-z_$][\w$]*)\s*$", source[:index])
                calls.append(name.group(1) if name else "")
            elif ch == ")" and calls:
                calls.pop()
            index += 1


def script_text(source: str) -> list[str]:
    """Hard-coded text in a script: word-like literals outside _() and ngettext()."""
    return [
        text
        for text, call in script_literals(source)
        if call not in TRANSLATING_CALLS | DEVELOPER_CALLS
        and text not in ALLOWED_LITERALS
        and reads_like_words(text)
    ]
