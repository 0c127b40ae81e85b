"""The README's screenshot: the console mid-batch, saved as Textual's SVG and rendered to a PNG.

    python -m tools.screenshot [--out docs/console] [--size 140x42] [--tier premium] [--scripted]

Runs the console headless (``App.run_test``) on the built-in world with a scratch data folder
(``TEXTURE_HOME`` is set to a temporary folder unless it is set already, so no database of yours
is touched), starts a batch on one tier, waits until the model has stored a few texts while the
other streams still decode, selects the model text that differs most from its template (its diff
shows both side by side) and saves ``<out>.svg``; then renders ``<out>.png`` with
``rsvg-convert`` (Debian: librsvg2-bin, with a monospace font such as fonts-dejavu-core).

Why the SVG is rewritten before it is rendered: Textual (through Rich) draws each run of
same-styled cells as one ``<text>`` stretched to the run's width (``textLength``), and a run
that starts with spaces ("ready" then " smollm2…") is drawn by renderers such as rsvg-convert
with those spaces dropped and the rest shifted left, so neighbouring runs touch ("readysmollm2",
"Ahall … sitson"). Drawing each word as its own ``<text>`` at the x of its first cell, with
the spaces left out, puts every word where the terminal puts it, whatever the renderer.

The real default model is used unless ``--scripted``; it must be pulled (``texture models pull``).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


async def _until(pilot, cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshot: timed out waiting for {what}")
        await pilot.pause(0.1)


async def _shoot(out: Path, size: tuple[int, int], tier: str, scripted: bool, model_texts: int) -> Path:
    if not scripted:
        # As the `texture` command does: OpenBLAS must be loaded before anything imports mlx, or
        # the model runs on the stock (slow) CPU path.
        from engine.llm.fastpath import prepare_backend

        prepare_backend()
    from console.app import TextureApp
    from engine.builtin_world import builtin_world
    from engine.config import Config
    from engine.locations import data_dir

    kw = {}
    if scripted:
        from engine.llm.scripted import ScriptedLLM
        kw["llm_factory"] = lambda cfg: ScriptedLLM(concurrency=cfg.concurrency, token_delay_s=0.05, deadline_s=60)
    app = TextureApp(Config(), builtin_world(), db_path=data_dir() / "texture.db", **kw)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.store is not None and app.engine_state[0] == "ready", 600, "the model")
        app.start_batch(f"tier:{tier}")

        def llm_rows():
            return [r for r in app.state.active().values() if r.source == "llm"]

        await _until(pilot, lambda: len(llm_rows()) >= model_texts, 1200, f"{model_texts} model texts")
        await _until(pilot, lambda: sum(1 for lane in app.state.lanes if lane.tokens >= 8) >= 2, 300, "busy streams")
        app.flush_now()
        urn = _most_rewritten(app.store.batch_results(app.state.batch.batch_id))
        table = app.query_one("#queue-table")
        table.move_cursor(row=[r.urn for r in app.state.visible()].index(urn))
        await _until(pilot, lambda: app.ui.diff.shown_urn == urn, 30, "the diff")
        await pilot.pause(0.3)
        app.flush_now()
        await pilot.pause()
        svg = out.with_suffix(".svg")
        app.save_screenshot(path=str(svg.parent), filename=svg.name)
        await pilot.press("c")  # cancel the batch: the scratch database is thrown away anyway
        await _until(pilot, lambda: not app.batch_running, 300, "the batch to stop")
    return svg


def _most_rewritten(results: list[dict]) -> str:
    """The urn of the stored model text that differs most from its template."""
    llm = [r for r in results if r.get("source") == "llm" and r.get("text") and r.get("template_text")]
    best = min(llm, key=lambda r: (difflib.SequenceMatcher(None, r["template_text"], r["text"]).ratio(), r["id"]))
    return best["urn"]


_TEXT = re.compile(r'<text (?P<pre>[^>]*?)x="(?P<x>[\d.]+)"(?P<mid>[^>]*?) textLength="(?P<w>[\d.]+)"(?P<post>[^>]*)>'
                   r'(?P<body>[^<]*)</text>')


def per_cell(svg_text: str) -> str:
    """Every word of every run of text placed at the x of its own first cell (see the module's
    docstring): one ``<text>`` per run of visible characters, spaces left out."""
    def one(m: re.Match) -> str:
        chars = html.unescape(m["body"])
        if not chars:
            return m[0]
        x0, cell = float(m["x"]), float(m["w"]) / len(chars)
        out = []
        for word in re.finditer(r"[^ \u00a0]+", chars):
            x, w = x0 + word.start() * cell, len(word[0]) * cell
            out.append(f'<text {m["pre"]}x="{x:g}"{m["mid"]} textLength="{w:g}"{m["post"]}>'
                       f'{html.escape(word[0], quote=False)}</text>')
        return "".join(out)
    return _TEXT.sub(one, svg_text)


def render_png(svg: Path) -> Path:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        raise SystemExit("screenshot: rsvg-convert not found (Debian/Ubuntu: apt-get install librsvg2-bin fonts-dejavu-core)")
    svg.write_text(per_cell(svg.read_text(encoding="utf-8")), encoding="utf-8")
    png = svg.with_suffix(".png")
    subprocess.run([tool, "--format", "png", "--output", str(png), str(svg)], check=True)
    return png


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.screenshot", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/console", help="path without suffix: writes OUT.svg and OUT.png")
    ap.add_argument("--size", default="140x42", help="terminal COLUMNSxROWS")
    ap.add_argument("--tier", default="premium", help="the batch: every place of this tier")
    ap.add_argument("--model-texts", type=int, default=4, help="model texts stored before the shot")
    ap.add_argument("--scripted", action="store_true", help="the scripted model instead of the real one")
    args = ap.parse_args(argv)
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    os.environ.setdefault("TEXTURE_HOME", tempfile.mkdtemp(prefix="texture-shot-"))
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    svg = asyncio.run(_shoot(out, (cols, rows), args.tier, args.scripted, args.model_texts))
    print(render_png(svg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
