"""Key bindings from the registry and [keymap]: remapping, clashes and unknown ids in one line each."""

from __future__ import annotations

import subprocess
import sys

from console.actions import REGISTRY
from console.config import parse as parse_config
from tests.support.pilot import type_text
from tests.ui.conftest import CONFIG_TOML
from widgets.keys import build_keymap, normalize_key

SIZE = (160, 50)


def test_defaults_come_from_the_registry():
    km = build_keymap({})
    for action in REGISTRY.values():
        assert len(km.keys[action.id]) == len(action.keys)
    assert km.keys["help"] == ["question_mark", "f1"]
    assert km.keys["cursor_top"] == ["g,g", "home"]
    assert km.problems == []



def test_every_keyed_action_is_bound_by_its_owner_with_its_id():
    """Each registry action with a single key is a Binding (id = action id) on exactly one owner."""
    from widgets.app import SwitchboardApp
    from widgets.composer import Composer
    from widgets.conversation import ConversationPane
    from widgets.customer import CustomerPane
    from widgets.screens.main import MainScreen

    owners = {}
    for cls in (SwitchboardApp, MainScreen, ConversationPane, CustomerPane, Composer):
        for binding in cls.BINDINGS:
            if binding.id in REGISTRY:
                owners.setdefault(binding.id, set()).add(cls.__name__)
                assert binding.action == binding.id
    keyed = {a.id for a in REGISTRY.values() if any("," not in k for k in a.keys)}
    assert set(owners) == keyed, keyed ^ set(owners)
    assert all(len(o) == 1 for o in owners.values()), owners


def test_normalize_key_names():
    assert normalize_key("?") == "question_mark"
    assert normalize_key("/") == "slash"
    assert normalize_key("Ctrl+S") == "ctrl+s"
    assert normalize_key("G") == "G"


def test_override_replaces_the_default_keys():
    km = build_keymap({"close": ["w"], "cursor_down": "ctrl+n"})
    assert km.keys["close"] == ["w"]
    assert km.keys["cursor_down"] == ["ctrl+n"]
    assert km.problems == []


def test_unknown_ids_are_one_line():
    km = build_keymap({"clsoe": "x", "frobnicate": "y"})
    assert len(km.problems) == 1
    line = km.problems[0]
    assert "'clsoe'" in line and "'frobnicate'" in line and "\n" not in line


def test_clash_is_one_line_and_the_first_keeps_the_key():
    km = build_keymap({"close": "r", "reopen": "j"})
    assert len(km.problems) == 1
    line = km.problems[0]
    assert "r is bound to compose_reply and close" in line
    assert "j is bound to cursor_down and reopen" in line
    assert km.keys["compose_reply"] == ["r"] and km.keys["close"] == []


def test_plain_key_clashing_with_a_sequence_prefix():
    km = build_keymap({"close": "g"})
    assert any("g is bound to" in p for p in km.problems)


def test_bad_key_name_is_reported():
    km = build_keymap({"close": "ctrl+nosuchkey"})
    assert len(km.problems) == 1 and "ctrl+nosuchkey" in km.problems[0]


async def test_remapped_key_works_and_the_old_one_does_not(make_app):
    cfg = parse_config(CONFIG_TOML + '\n[keymap]\nclose = "w"\ncursor_down = ["ctrl+n"]\n', "config.toml")
    app = make_app(config=cfg)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        tid = app.main.inbox.current_thread_id
        await pilot.press("e")
        await pilot.pause(0.05)
        assert app.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "open"
        await pilot.press("w")
        await pilot.pause(0.05)
        assert app.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "closed"
        cursor = app.main.inbox.cursor
        await pilot.press("j")
        assert app.main.inbox.cursor == cursor
        await pilot.press("ctrl+n")
        assert app.main.inbox.cursor == cursor + 1


async def test_problems_are_shown_at_start_up(make_app):
    cfg = parse_config(CONFIG_TOML + '\n[keymap]\nnope = "x"\nclose = "r"\n', "config.toml")
    app = make_app(config=cfg)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        messages = [n.message for n in app._notifications]
        assert any("unknown action id" in m and "'nope'" in m for m in messages)
        assert any("key clash" in m for m in messages)
        assert len(app.startup_problems) == 2


def test_run_app_prints_keymap_problems_to_stderr(tmp_path):
    """run_app reports each problem in one stderr line before the screen takes over (headless here)."""
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(CONFIG_TOML + '\n[keymap]\nnope = "x"\nclose = "r"\n')
    script = f"""
import sys
from console.config import load
import widgets.app as a
class Fake(a.SwitchboardApp):
    def run(self, *args, **kw):
        return 0
a.SwitchboardApp = Fake
sys.exit(a.run_app(db_path={str(tmp_path / 'c.sqlite3')!r}, config=load({str(cfg_path)!r}), read_only=False,
                   demo=False))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("switchboard: keymap")]
    assert len(lines) == 2
    assert "nope" in lines[0] and "clash" in lines[1]


async def test_composer_keys_are_remapped_too(make_app):
    """[keymap] also reaches the bindings a focused widget owns (the composer's send)."""
    cfg = parse_config(CONFIG_TOML + '\n[keymap]\nsend = "ctrl+o"\n', "config.toml")
    app = make_app(config=cfg)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        tid = app.main.inbox.current_thread_id
        await pilot.press("r")
        await pilot.pause(0.1)
        assert app.main.conversation.composing
        await type_text(pilot, "Hello")
        await pilot.press("ctrl+s")  # the old key no longer sends
        await pilot.pause(0.1)
        assert app.db.execute("SELECT COUNT(*) FROM outbox WHERE thread_id=? AND kind='reply'",
                              (tid,)).fetchone()[0] == 0
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        assert app.db.execute("SELECT COUNT(*) FROM outbox WHERE thread_id=? AND kind='reply'",
                              (tid,)).fetchone()[0] == 1


def test_the_app_and_the_test_harnesses_are_the_same_kind_of_host(cache_path, ui_config):
    from widgets.app import SwitchboardApp
    from widgets.host import Host, HostApp
    from tests.ui.test_conversation_harness import PaneApp

    assert issubclass(SwitchboardApp, HostApp) and issubclass(PaneApp, HostApp)
    app = SwitchboardApp(db_path=cache_path, config=ui_config, start_engine=False)
    assert isinstance(app, Host)
    assert isinstance(PaneApp(app.db), Host)
