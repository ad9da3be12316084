"""The report in a real browser: headless Chromium (Debian's package; .ci/run installs it)
loads ``report.html`` of a small run with no console error, every image decodes, and the
page prints to the chosen paper size."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("CI runs the browser check: .ci/run installs chromium", pytrace=False)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")

PROBE = (
    "<script>window.addEventListener('load',function(){var i=[].slice.call(document.images);"
    "var bad=i.filter(function(x){return !(x.complete&&x.naturalWidth>0)});"
    "var d=document.createElement('div');d.id='capsim-probe';"
    "d.textContent='IMAGES '+i.length+' BROKEN '+bad.length;document.body.appendChild(d);});"
    "</script>"
)


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "run"
    mmc = ROOT / "configs/examples/mmc.toml"
    assert (
        main(["run", str(mmc), "--set", "scenario.years=0.05", "-n", "2", "--out", str(out)]) == 0
    )
    return out


@pytest.mark.parametrize(("paper", "points"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_the_report_loads_cleanly_and_prints_to_its_paper(report, tmp_path, paper, points):
    assert main(["report", str(report), "--paper", paper]) == 0
    page = report / "report.html"
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    r = chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                 "--dump-dom", probe.as_uri())  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    found = re.search(r"IMAGES (\d+) BROKEN (\d+)", r.stdout)
    assert found, "the page never finished loading"
    images, broken = int(found.group(1)), int(found.group(2))
    assert images >= 4 and broken == 0
    errors = [line for line in r.stderr.splitlines() if "CONSOLE" in line and (
        "Uncaught" in line or "Error" in line)]  # fmt: skip
    assert errors == []
    pdf = tmp_path / "page.pdf"
    r = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert r.returncode == 0 and pdf.exists()
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([0-9.]+) ([0-9.]+)", pdf.read_bytes())
    assert boxes and {(round(float(w)), round(float(h))) for w, h in boxes} == {points}
