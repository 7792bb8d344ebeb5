"""The HTML report opens offline in headless Chromium with its plots drawn (DOM sizes and a screenshot)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.clirun import run_cli

ROOT = Path(__file__).parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
# Appended to a copy of the report only: writes each plot's rendered size into the DOM for --dump-dom.
PROBE = """<script>
const sizes = [...document.querySelectorAll('figure.plot')].map(f => {
  const e = f.querySelector('svg, img'); const b = e ? e.getBoundingClientRect() : {width: 0, height: 0};
  return {id: f.id, tag: e ? e.tagName : null, width: b.width, height: b.height,
          shapes: f.querySelectorAll('path, rect, use').length};});
const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(sizes);
document.body.appendChild(pre);
</script>"""


def chromium() -> str:
    """The browser, installed by .ci/install-chromium.sh when missing; skip only if that is impossible."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return name
    subprocess.run(["bash", str(ROOT / ".ci" / "install-chromium.sh")], capture_output=True, timeout=600)
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return name
    pytest.skip("headless Chromium is not installed and .ci/install-chromium.sh could not install it "
                "(needs root and Debian's apt)")


def browse(browser: str, tmp: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args, url], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "r.html"
    run = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--budget", "1000", "--report", str(out), timeout_s=300)
    assert run.returncode == 0, run.stderr
    return out


def test_report_is_self_contained(report_file: Path) -> None:
    text = report_file.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # nothing fetched from a network
    assert text.count("<svg") == 3 and "Chosen loop nests" in text and "parallel-for" in text
    assert "<script" not in text


def test_report_renders_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    browser = chromium()
    probe = tmp_path / "probe.html"
    probe.write_text(report_file.read_text().replace("</body>", PROBE + "</body>"))
    dom = browse(browser, tmp_path, probe.as_uri(), "--dump-dom")
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert match, dom.stderr[-2000:]
    sizes = json.loads(match.group(1).replace("&quot;", '"'))
    assert [s["id"] for s in sizes] == ["energy", "cycles", "roofline"]
    for s in sizes:
        assert s["tag"].lower() == "svg" and s["width"] > 200 and s["height"] > 150, s
        assert s["shapes"] > 10, s  # bars, lines, markers actually drawn
    shot = tmp_path / "shot.png"
    browse(browser, tmp_path, report_file.as_uri(), f"--screenshot={shot}", "--window-size=1400,2400")
    assert shot.is_file() and shot.stat().st_size > 10_000
    import matplotlib.pyplot as plt

    pixels = plt.imread(shot)[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 100  # plot colours, anti-aliased text: far more than a blank or text-only page
    # the bar colours of the energy plot (matplotlib's default cycle: blue, orange) are on the page
    rgb = (pixels * 255).astype(int)
    for colour in ((31, 119, 180), (255, 127, 14)):
        assert (np.abs(rgb - colour).sum(axis=-1) < 12).sum() > 200, colour
