"""``report.html``: the Markdown report rendered (markdown-it-py) into one self-contained file.

Every local image the report links is inlined as a ``data:`` URI, so the file can be attached and shared
alone.  A linked image that is missing raises ConfigError naming it rather than writing a broken page.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from urllib.parse import unquote

from accel.errors import ConfigError
from cost_models.explore import atomic

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45;
       color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
img { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        raise ConfigError(f"cannot inline image {str(path)!r}: expected one of {', '.join(_MIME)}")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render(markdown: str, base_dir: Path, *, title: str = "report") -> str:
    """The HTML page of ``markdown`` (GitHub-style tables), its local images read from ``base_dir``."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(markdown)
    missing = []
    for tok in tokens:
        for child in tok.children or ():
            if child.type != "image":
                continue
            src = child.attrGet("src") or ""
            if src.startswith(("data:", "http:", "https:")):
                continue
            path = base_dir / unquote(src)
            if not path.is_file():
                missing.append(src)
                continue
            child.attrSet("src", _data_uri(path))
    if missing:
        raise ConfigError(f"the report links {len(missing)} image(s) that do not exist under {str(base_dir)!r}: "
                          f"{', '.join(map(repr, missing))}")
    body = md.renderer.render(tokens, md.options, {})
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")


def write_html(report_md: str | Path) -> Path:
    """Write ``report.html`` next to ``report_md`` (images inlined); return its path."""
    report_md = Path(report_md)
    text = report_md.read_text(encoding="utf-8")
    title = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), report_md.stem)
    out = report_md.with_name("report.html")
    atomic.write_text(out, render(text, report_md.parent, title=title))
    return out
