"""The web client's files, as the web listener serves them.

The files of `hubbub/web/` are read once, from the installed package, when the listener
starts: each with its type, a strong ETag (a hash of its bytes) and, for text, a gzip
copy made once. A request names a file by its path relative to that directory (`/` is
`index.html`); nothing else on the disk can be reached, whatever the path says.

Caching: every file is served with `Cache-Control: no-cache` and its ETag, so a browser
keeps it and revalidates it (one `304 Not Modified` per file) on each visit. A long
max-age would be cheaper, but the module scripts import each other by plain names
(`./irc.js`), with no version in the URL: after an upgrade a browser would run the new
page with old scripts until they expired.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # module scripts refuse any type that is not JavaScript
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
COMPRESSIBLE = (".html", ".css", ".js", ".svg", ".json")
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None  # None when compressing would not make it smaller
    content_type: str
    etag: str

    @property
    def gzip_etag(self) -> str:
        """The compressed variant's strong ETag: not the plain one's (RFC 9110 8.8.3.3)."""
        return self.etag[:-1] + '-gz"'


def _walk(root: Traversable, prefix: str = "") -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for entry in root.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            if not entry.name.startswith(("_", ".")):
                found.update(_walk(entry, name + "/"))
        elif entry.is_file() and not entry.name.startswith("."):
            found[name] = entry
    return found


def load(root: Traversable | None = None) -> dict[str, StaticFile]:
    """Every servable file under `root` (the package's web client by default), by path."""
    root = root if root is not None else files("hubbub") / "web"
    table: dict[str, StaticFile] = {}
    for path, entry in sorted(_walk(root).items()):
        suffix = "." + path.rpartition(".")[2] if "." in path else ""
        content_type = TYPES.get(suffix)
        if content_type is None:
            continue  # not a kind of file the client is made of
        body = entry.read_bytes()
        packed = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        table[path] = StaticFile(body, packed if packed is not None and len(packed) < len(body) else None,
                                 content_type, etag)  # fmt: skip
    return table


def lookup(table: dict[str, StaticFile], path: str) -> StaticFile | None:
    """The file a URL path names (`/` and `/index.html` are the page), or None."""
    name = path.lstrip("/") or "index.html"
    return table.get(name)


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 says)."""
    if not if_none_match:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in wanted or "*" in wanted


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip: named (or x-gzip) with a q above 0,
    or, when it is not named, `*` with a q above 0 (RFC 9110 12.5.3: the named coding's
    own weight wins over the wildcard's)."""
    if not accept_encoding:
        return False
    named: float | None = None
    wildcard: float | None = None
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            named = q if named is None else max(named, q)
        elif coding == "*":
            wildcard = q
    weight = named if named is not None else wildcard
    return weight is not None and weight > 0
