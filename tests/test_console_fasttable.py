"""The console's cheap-repaint widgets (console/widgets/) show the same thing as Textual's own.

FastTable keeps its render caches across cell updates, focus changes and resizes; Panel.show_focus
lights the focused panel's title without a :focus-within rule. These tests check nothing stale is
ever drawn: an updated cell shows its new text, the cursor row follows focus, and a panel's title
follows focus whichever way it moves.
"""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from fakes import isolate, make_app, ready
from console.widgets import FastTable

pytestmark = pytest.mark.anyio


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield FastTable(id="fast", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="plain", cursor_type="row", zebra_stripes=True)
        yield Input(id="other")

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            for key, width in (("name", 10), ("state", 9)):
                table.add_column(key.title(), key=key, width=width)
            for i in range(30):
                table.add_row(Text(f"place {i}"), Text("queued"), key=f"r{i}")
            table.styles.height = 12


def lines(table: DataTable) -> list:
    """What the table draws now, text and styles (rendering through the widget's caches)."""
    return [[(seg.text, seg.style) for seg in strip] for strip in table.render_lines(table.size.region)]


async def test_fast_table_draws_like_a_data_table_through_updates_focus_and_resize():
    app = TableApp()
    async with app.run_test(size=(60, 30)) as pilot:
        fast, plain = app.query_one("#fast", FastTable), app.query_one("#plain", DataTable)

        async def same(note: str) -> None:
            await pilot.pause()
            assert [[t for t, _ in line] for line in lines(fast)] == [[t for t, _ in line] for line in lines(plain)], note
            # the same look (styles) where the two tables have the same focus state
            if fast.has_focus == plain.has_focus:
                assert lines(fast) == lines(plain), note

        fast.focus()
        plain.focus()
        fast.focus()
        await same("start")
        lines(fast)  # fill the caches
        for table in (fast, plain):
            table.update_cell("r2", "state", Text("running"))
            table.update_cell("r3", "name", Text("renamed"))
        await same("after updates")
        assert "running" in "".join(t for t, _ in lines(fast)[3])
        assert "renamed" in "".join(t for t, _ in lines(fast)[4])

        focused_look = lines(fast)
        app.query_one("#other").focus()
        await pilot.pause()
        blurred_look = lines(fast)
        assert blurred_look != focused_look  # the cursor row looks different without focus
        fast.focus()
        await pilot.pause()
        assert lines(fast) == focused_look  # back from the cache, identical
        fast.update_cell("r0", "state", Text("done"))  # the cursor row
        await pilot.pause()
        assert "done" in "".join(t for t, _ in lines(fast)[1])

        await pilot.press("down", "down")
        plain.move_cursor(row=2)
        plain.update_cell("r0", "state", Text("done"))
        fast.focus()
        await same("after cursor moves")

        for table in (fast, plain):
            table.styles.height = 20
        await same("after a resize")
        app.theme = "textual-light"
        await pilot.pause()
        await same("after a theme change")


async def test_panel_titles_follow_focus(tmp_path, monkeypatch):
    home = isolate(tmp_path, monkeypatch)
    app = make_app(home)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot, app)

        def lit() -> list[str]:
            return [p.id for p in app.panels() if p.styles.inline.has_rule("border_title_background")]

        await pilot.pause()
        assert lit() == ["queue"]
        for key, pid in (("3", "diff"), ("2", "streams"), ("5", "prompts"), ("1", "queue")):
            await pilot.press(key)
            await pilot.pause()
            assert lit() == [pid]
        await pilot.press("tab")  # focus moved by Textual itself, not by a panel key
        await pilot.pause()
        assert lit() == [app._focused_panel().id]
        app.theme = "textual-light"
        await pilot.pause()
        panel = app._focused_panel()
        assert panel.styles.border_title_background == app._focus_look()[1]


class ScrollApp(App):
    def compose(self) -> ComposeResult:
        from console.widgets import FocusScroll, TextBlock

        with FocusScroll(id="scroll"):
            yield TextBlock("one line", id="text")

    def on_mount(self) -> None:
        self.query_one("#scroll").styles.height = 10


async def test_scroll_area_growing_within_its_height_takes_one_layout_pass():
    """_ScrollKeepsLayout: content that grows but still fits (or still overflows) is laid out
    once; a scrollbar still appears, and the view can still scroll, when it starts to overflow."""
    from console.widgets import set_text

    app = ScrollApp()
    async with app.run_test(size=(40, 20)) as pilot:
        screen, scroll, text = app.screen, app.query_one("#scroll"), app.query_one("#text")
        passes = []
        real = screen._refresh_layout

        def counting(*a, **kw):
            passes.append(1)
            return real(*a, **kw)

        screen._refresh_layout = counting
        await pilot.pause()
        passes.clear()
        set_text(text, Text("\n".join(f"line {i}" for i in range(5))))  # taller, still fits
        await pilot.pause()
        await pilot.pause()
        assert len(passes) == 1
        assert not scroll.show_vertical_scrollbar
        set_text(text, Text("\n".join(f"line {i}" for i in range(30))))  # now overflows
        await pilot.pause()
        await pilot.pause()
        assert scroll.show_vertical_scrollbar and scroll.virtual_size.height == 30
        scroll.scroll_end(animate=False)
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y > 0
        passes.clear()
        set_text(text, Text("\n".join(f"line {i}" for i in range(40))))  # taller, still overflows
        await pilot.pause()
        await pilot.pause()
        assert len(passes) == 1 and scroll.virtual_size.height == 40
        assert scroll.max_scroll_y == 40 - scroll.scrollable_content_region.height


async def test_console_screens_update_at_120_fps_unless_textual_fps_is_set(tmp_path, monkeypatch):
    import textual.screen

    monkeypatch.setattr(textual.screen, "UPDATE_PERIOD", 1 / 60)  # Textual's default; restored after
    monkeypatch.delenv("TEXTUAL_FPS", raising=False)
    home = isolate(tmp_path, monkeypatch)
    app = make_app(home)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot, app)
        assert app.screen._update_timer._interval == pytest.approx(1 / 120)
    monkeypatch.setattr(textual.screen, "UPDATE_PERIOD", 1 / 60)
    monkeypatch.setenv("TEXTUAL_FPS", "60")
    app = make_app(home)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot, app)
        assert app.screen._update_timer._interval == pytest.approx(1 / 60)
