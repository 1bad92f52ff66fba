#!/usr/bin/env python3
"""The configuration reference, written from the code that defines it (`make docs`).

- docs/operators/settings.md: every field of the Settings object in app/config.py, read
  with `ast` (its environment name, type, default) and the comment written above it;
- roles/<role>/README.md, between the GENERATED VARIABLES markers: every variable of
  defaults/main.yml as written there, the comment above it, and its type and choices from
  meta/argument_specs.yml. The rest of each README is written by hand and kept.

    python ansible/reference.py           write the pages
    python ansible/reference.py --check   exit 2 naming each setting or variable that has
                                          no comment, else 1 naming each stale page
"""

import argparse
import ast
import operator
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path("app/config.py")
SETTINGS_PAGE = Path("docs/operators/settings.md")
BEGIN = "<!-- BEGIN GENERATED VARIABLES -->"
END = "<!-- END GENERATED VARIABLES -->"
# "# --- Firewall (nftables) ----": a heading over the settings or variables below it.
SECTION = re.compile(r"^\s*# -{3} (.+?) -*$")
TOP_LEVEL_KEY = re.compile(r"^([a-z_][a-z0-9_]*):")
OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}


class MissingMarkers(Exception):
    """A role README without the markers its generated block goes between."""


@dataclass
class Setting:
    name: str
    type: str
    default: object
    arithmetic: str  # a default computed in the source, as written: "25 * MIB"
    meaning: str
    section: str
    secret: bool


@dataclass
class Variable:
    name: str
    written: str  # the lines of defaults/main.yml that set it
    meaning: str
    section: str
    example: list[str] = field(default_factory=list)


def comment_above(lines: list[str], index: int) -> list[str]:
    """The comment lines right above lines[index], up to a blank line or a section."""
    found = []
    for line in reversed(lines[:index]):
        stripped = line.strip()
        if not stripped.startswith("#") or SECTION.match(line):
            break
        found.append(stripped.removeprefix("#").strip())
    return list(reversed(found))


def section_above(lines: list[str], index: int) -> str:
    for line in reversed(lines[:index]):
        if match := SECTION.match(line):
            return match.group(1)
    return ""


def evaluate(node: ast.expr, names: dict):
    """The value of a default made of literals, module constants and arithmetic."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](evaluate(node.left, names), evaluate(node.right, names))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -evaluate(node.operand, names)
    raise ValueError(f"line {node.lineno}: cannot read the default {ast.unparse(node)!r}")


def default_and_secrecy(value: ast.expr) -> tuple[ast.expr, bool]:
    """`field(default=..., repr=False)` marks a secret: kept out of repr and of the page."""
    if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "field":
        keywords = {keyword.arg: keyword.value for keyword in value.keywords}
        hidden = isinstance(keywords.get("repr"), ast.Constant) and not keywords["repr"].value
        return keywords["default"], hidden
    return value, False


def app_settings(config: Path) -> list[Setting]:
    source = config.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                names[node.targets[0].id] = evaluate(node.value, names)
            except ValueError:
                continue
    settings_class = next(
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings"
    )
    found = []
    for node in settings_class.body:
        if not isinstance(node, ast.AnnAssign) or node.value is None:
            continue
        value, secret = default_and_secrecy(node.value)
        first = node.lineno - 1
        found.append(
            Setting(
                name=node.target.id.upper(),
                type=ast.unparse(node.annotation),
                default=evaluate(value, names),
                arithmetic=""
                if isinstance(value, ast.Constant)
                else ast.get_source_segment(source, value),
                meaning=" ".join(comment_above(lines, first)),
                section=section_above(lines, first),
                secret=secret,
            )
        )
    return found


def role_variables(defaults: Path) -> list[Variable]:
    """Each top-level key of a defaults file with the lines that set it and its comment.

    Commented lines right below a variable that say "example:", start with its own name or
    are indented are its example, not the next variable's comment.
    """
    lines = defaults.read_text().splitlines()
    found: list[Variable] = []
    comment: list[str] = []
    section = ""
    example_open = False
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if match := TOP_LEVEL_KEY.match(line):
            start = index - 1
            while index < len(lines) and lines[index].startswith((" ", "\t")):
                index += 1
            written = "\n".join(lines[start:index])
            found.append(Variable(match.group(1), written, " ".join(comment), section))
            comment, example_open = [], True
        elif match := SECTION.match(line):
            section, comment, example_open = match.group(1), [], False
        elif line.startswith("#"):
            text = line.removeprefix("#")
            if example_open and (
                text.strip() == "example:" or text.startswith((f" {found[-1].name}:", "   ", "  -"))
            ):
                if text.strip() != "example:":
                    found[-1].example.append(text.removeprefix(" "))
            else:
                comment.append(text.strip())
                example_open = False
        else:
            comment, example_open = [], False
    return found


def argument_options(role: Path) -> dict[str, dict]:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {
        entry: spec.get("options") or {} for entry, spec in specs.items() if isinstance(spec, dict)
    }


def problems(root: Path) -> list[str]:
    """Every setting and variable that lacks its explanation, by name."""
    found = []
    if (root / CONFIG).exists():
        found += [
            f"{CONFIG}: setting {setting.name} has no comment above it"
            for setting in app_settings(root / CONFIG)
            if not setting.meaning
        ]
    for role in roles(root):
        defaults = role / "defaults" / "main.yml"
        where = defaults.relative_to(root)
        variables = role_variables(defaults)
        options = argument_options(role).get("main", {})
        for variable in variables:
            if not variable.meaning:
                found.append(f"{where}: variable {variable.name} has no comment above it")
            if variable.name not in options:
                found.append(f"{where}: variable {variable.name} is not in meta/argument_specs.yml")
        written = {variable.name for variable in variables}
        found += [
            f"roles/{role.name}/meta/argument_specs.yml: {name} has no default in {where}"
            for name, spec in options.items()
            if name not in written and not spec.get("required")
        ]
    return found


def roles(root: Path) -> list[Path]:
    return sorted(path.parent.parent for path in root.glob("roles/*/defaults/main.yml"))


def cell(text: str) -> str:
    return escape(text).replace("|", "\\|")


def escape(text: str) -> str:
    """Comment text for Markdown: <placeholders> are text, not HTML."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def shown_default(setting: Setting) -> str:
    if setting.secret:
        return "none (a secret)"
    value = setting.default
    if value == "":
        return "empty"
    shown = code(str(value).lower() if isinstance(value, bool) else str(value))
    return f"{shown} ({code(setting.arithmetic)})" if setting.arithmetic else shown


def settings_page(settings: list[Setting]) -> str:
    out = [
        "# App settings",
        "",
        "<!-- Written by `make docs` (ansible/reference.py) from app/config.py: edit the",
        "     comments there, not this page. -->",
        "",
        "Every setting of the app: an environment variable the app reads once at start-up",
        "(`app/config.py`). On a server the chat_app role writes them into",
        "`/etc/natter/natter.env` from the inventory's variables (see",
        "[Configuration](configuration.md)); `make dev` and the tests set their own.",
        "An empty variable counts as unset. Flags take `1`, `true`, `yes` or `on`.",
        "Secrets have no default and come from the vault.",
    ]
    section = None
    for setting in settings:
        if setting.section != section:
            section = setting.section
            out += ["", f"## {section or 'Settings'}", ""]
            out += ["| variable | type | default | meaning |", "|---|---|---|---|"]
        out.append(
            f"| `{setting.name}` | {setting.type} | {cell(shown_default(setting))} "
            f"| {cell(setting.meaning)} |"
        )
    return "\n".join(out) + "\n"


def kind(spec: dict) -> str:
    shown = spec.get("type", "raw")
    if spec.get("elements"):
        shown = f"{shown} of {spec['elements']}"
    parts = [f"Type {code(shown)}"]
    if spec.get("choices"):
        parts.append("one of " + ", ".join(code(str(choice)) for choice in spec["choices"]))
    if spec.get("required"):
        parts.append("required")
    if spec.get("no_log"):
        parts.append("secret (keep it in the vault)")
    return ", ".join(parts)


def variables_block(role: Path) -> str:
    options = argument_options(role)
    out = [
        BEGIN,
        "<!-- Written by `make docs` (ansible/reference.py) from defaults/main.yml and",
        "     meta/argument_specs.yml: edit those, not this block. -->",
        "",
        "## Role variables",
        "",
        "Each with its default as `defaults/main.yml` writes it.",
    ]
    section = ""
    for variable in role_variables(role / "defaults" / "main.yml"):
        if variable.section != section:
            section = variable.section
            out += ["", f"### {section}"]
        spec = options.get("main", {}).get(variable.name, {})
        out += ["", "```yaml", variable.written, "```", ""]
        out.append(f"{kind(spec)}. {escape(variable.meaning)}")
        if variable.example:
            out += ["", "Example:", "", "```yaml", *variable.example, "```"]
    for entry, entry_options in options.items():
        if entry == "main" or not entry_options:
            continue
        out += ["", f"### Entry point `{entry}`", ""]
        out += [
            f"- `{name}`: {kind(spec)}. {escape(str(spec.get('description', '')))}"
            for name, spec in entry_options.items()
        ]
    out.append(END)
    return "\n".join(out)


def readme_with_block(readme: Path, block: str) -> str:
    text = readme.read_text() if readme.exists() else ""
    if BEGIN not in text or END not in text:
        raise MissingMarkers(f"{readme}: no {BEGIN} ... {END} markers to write between")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return before + block + after


def pages(root: Path) -> dict[Path, str]:
    """Every generated page (relative path) with the text it should have now."""
    found = {}
    if (root / CONFIG).exists():
        found[SETTINGS_PAGE] = settings_page(app_settings(root / CONFIG))
    for role in roles(root):
        readme = role / "README.md"
        found[readme.relative_to(root)] = readme_with_block(readme, variables_block(role))
    return found


def stale_pages(root: Path) -> list[Path]:
    return [
        page
        for page, text in pages(root).items()
        if not (root / page).exists() or (root / page).read_text() != text
    ]


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; report drift")
    check = parser.parse_args(argv).check
    unexplained = problems(root)
    if unexplained:
        print("Explain each where it is defined (a comment right above it):", file=sys.stderr)
        print("\n".join(f"  {problem}" for problem in unexplained), file=sys.stderr)
        return 2
    try:
        if check:
            stale = stale_pages(root)
            if stale:
                names = ", ".join(str(page) for page in stale)
                print(f"Out of date: {names}; run `make docs` and commit.", file=sys.stderr)
                return 1
            return 0
        for page, text in pages(root).items():
            (root / page).write_text(text)
    except MissingMarkers as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
