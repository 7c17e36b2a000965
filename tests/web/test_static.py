"""The client's files on disk: no inline script or style, no HTML sinks, nothing fetched from elsewhere."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "hubbub" / "web"


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        self.problems += [f"{name} handler on <{tag}>" for name in names if name.startswith("on")]


def test_the_page_has_no_inline_script_or_style() -> None:
    finder = _InlineFinder()
    finder.feed((WEB / "index.html").read_text())
    assert finder.problems == []


def test_no_code_turns_strings_into_html_or_code() -> None:
    """The client writes text with textContent only; these sinks must not appear at all."""
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*[\"']on"
    )
    found = [f"{path.name}:{n}" for path in sorted((WEB / "js").glob("*.js"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if sinks.search(line)]
    assert found == []


def test_everything_the_page_loads_is_in_the_package() -> None:
    """No CDN, no download at run time: every src/href in the page is a relative file that exists."""
    html = (WEB / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert refs
    for ref in refs:
        assert not re.match(r"^[a-z]+:|^//", ref), ref
        assert (WEB / ref).is_file(), ref
    imports = {m for path in (WEB / "js").glob("*.js") for m in re.findall(r'from "([^"]+)"', path.read_text())}
    for module in imports:
        assert module.startswith("./") and (WEB / "js" / module).is_file(), module


def test_the_package_ships_every_web_file() -> None:
    """pyproject.toml's package-data globs cover every file of the client (no file left behind in a wheel)."""
    config = tomllib.loads((WEB.parents[1] / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["hubbub"]
    files = [p.relative_to(WEB.parent).as_posix() for p in WEB.rglob("*") if p.is_file()]
    assert files
    missing = [f for f in files if not any(fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)]
    assert missing == []
