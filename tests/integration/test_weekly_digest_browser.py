"""The weekly digest as a mail client shows it: headless Chromium renders the HTML part with its inline
pictures (the per-agent table, the daily chart and the heatmap), as the survey page is checked."""

from __future__ import annotations

import io
import re
import subprocess
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from PIL import Image

from carehooks import clock
from carehooks.reports.digest import send_weekly_digest
from carehooks.store import Store
from tests.integration.test_survey_page_browser import chromium
from tests.integration.test_weekly_digest import MONDAY, Outbox, store  # noqa: F401 (the fixture)

WIDTH, HEIGHT = 800, 2000
# Written into the page once it has loaded: what the browser made of each picture.
PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    img.setAttribute("data-loaded", img.complete && img.naturalWidth > 0 ? img.naturalWidth + "x" + img.naturalHeight : "broken");
  }
});
</script>"""


def digest_page(source: Store, folder: Path) -> Path:
    """The digest's HTML part with each ``cid:`` picture saved beside it, as a mail client resolves them."""
    outbox = Outbox()
    with clock.frozen(MONDAY):
        send_weekly_digest(source, MONDAY, ["ops@example.com"], outbox, "care@example.com")
    parsed = message_from_bytes(outbox.sent[0][0].as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    html_part = parsed.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    for part in parsed.walk():
        if part.get_content_type() == "image/png":
            cid = str(part["Content-ID"]).strip("<>")
            name = cid.split("@")[0] + ".png"
            (folder / name).write_bytes(part.get_payload(decode=True))
            html = html.replace(f"cid:{cid}", name)
    page = folder / "digest.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return page


def render(page: Path, folder: Path) -> tuple[str, Path]:
    shot = folder / "digest-shot.png"
    common = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        "--virtual-time-budget=3000",
        f"--user-data-dir={folder / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
    ]
    url = page.as_uri()
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    subprocess.run(
        [*common, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=60, check=True
    )
    return dom, shot


def test_the_digest_shows_the_agent_table_and_both_pictures(store: Store, tmp_path: Path) -> None:  # noqa: F811
    dom, shot = render(digest_page(store, tmp_path), tmp_path)
    # The table, as rendered: a header and one row per agent.
    table = re.search(r'<table[^>]*id="agents".*?</table>', dom, re.S)
    assert table is not None
    rows = re.findall(r"<tr.*?</tr>", table.group(0), re.S)
    assert len(rows) == 3
    assert "First-contact resolution" in rows[0]
    assert "agent-ann" in rows[1]
    assert "platform-inbox" in rows[2]
    # Both pictures loaded at their full size.
    loaded = dict(re.findall(r'src="([\w-]+)\.png"[^>]*data-loaded="([^"]+)"', dom))
    loaded |= {k: v for v, k in re.findall(r'data-loaded="([^"]+)"[^>]*src="([\w-]+)\.png"', dom)}
    assert loaded == {"daily-chart": "640x280", "heatmap": "720x290"}
    # And the screenshot shows them: the chart's blue bars and the heatmap's dark cells.
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20) or []}
    assert (37, 99, 235) in colours  # the bars
    assert any(sum(c) < 200 and c[2] > c[0] for c in colours)  # a dark blue heatmap cell
