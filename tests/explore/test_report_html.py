"""report.html opens in a real browser (headless Chromium) and every image in it loads."""

import json
import re
import shutil
import subprocess

import pytest

from accel.errors import ConfigError
from cost_models.explore.html import render
from tests.needs import unavailable

from .test_report_views import report_links, toy_report  # noqa: F401 - the fixture

pytestmark = pytest.mark.unit
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")
#: Appended to a copy of the page: once everything has loaded, write each image's natural size into the DOM.
_PROBE = ("<script>window.addEventListener('load', () => document.body.setAttribute('data-images', "
          "JSON.stringify([...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]))));</script>")


def browser() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    unavailable(f"no headless Chromium on PATH (looked for {', '.join(BROWSERS)}); scripts/setup.sh installs "
                "Debian's chromium-headless-shell (apt-get install chromium-headless-shell)")
    raise AssertionError("unreachable")


def test_report_html_opens_in_a_browser_and_every_image_loads(toy_report, tmp_path):  # noqa: F811
    page = (toy_report / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    srcs = re.findall(r'<img src="([^"]*)"', page)
    images = [t for t in report_links(toy_report / "report.md") if t.endswith(".png")]
    assert len(srcs) == len(images) >= 7
    assert all(s.startswith("data:image/png;base64,") for s in srcs)  # self-contained: nothing fetched
    probe = tmp_path / "probe.html"  # alone in its directory: no plots/ beside it to fall back on
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    exe = browser()
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                           "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'<body data-images="([^"]*)"', proc.stdout)
    assert m, f"the page did not finish loading in {exe}: {proc.stdout[:500]!r}"
    loaded = json.loads(m.group(1).replace("&quot;", '"'))
    assert len(loaded) == len(srcs)
    assert all(ok and w > 0 and h > 0 for ok, w, h in loaded), loaded
    assert "<table>" in proc.stdout and "Design labels" in proc.stdout


def test_a_missing_image_is_named_not_rendered_broken(tmp_path):
    (tmp_path / "plots").mkdir()
    with pytest.raises(ConfigError, match=r"^the report links 1 image\(s\) that do not exist under '.*': "
                                          r"'plots/gone\.png'$"):
        render("# r\n\n![x](plots/gone.png)\n", tmp_path)
