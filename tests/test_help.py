"""Every command's ``--help`` at 80 columns: option names whole, no ``<bool>`` beside on/off
flags, defaults shown (the ones that are None in code too: --time-limit, --gap, --policy,
--metros), the sweep parameters listed; an on/off flag given a value is named in the error."""
from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from cli import app
from optimizer.batch.variants import PARAMETERS
from optimizer.planner.integer import DEFAULT_GAP

runner = CliRunner()
GROUP = typer.main.get_command(app)
DEFAULT_DESCRIBED = {"--time-limit": "no limit", "--gap": f"{DEFAULT_GAP:g}", "--metros": "sites / 25",
                     "--policy": "aidr-2025"}   # None in code, the default described in words


def help_text(*args: str) -> str:
    r = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert r.exit_code == 0 and r.exception is None, r.output
    return r.output


def option_blocks(text: str) -> dict[str, str]:
    """Option name -> its row in the Options section (names, metavar, help, continuation lines)."""
    section = text.split("\nOptions:\n", 1)[1]
    blocks: dict[str, str] = {}
    names: list[str] = []
    for line in section.splitlines():
        if re.match(r"  -", line):
            names = re.findall(r"(?<![\w-])(--?[\w-]+)", line.split("  ", 2)[1])
        for name in names:
            blocks[name] = blocks.get(name, "") + " " + line.strip()
    return blocks


@pytest.mark.parametrize("name", sorted(GROUP.commands))
def test_help_names_every_option_whole_and_shows_defaults(name):
    text = help_text(name)
    assert "<bool>" not in text
    blocks = option_blocks(text)
    for param in GROUP.commands[name].params:
        if param.param_type_name != "option":
            continue
        for opt in (*param.opts, *param.secondary_opts):
            assert opt in blocks, f"{name}: {opt} missing or cut in --help\n{text}"
        row = " ".join(blocks[param.opts[0]].split())
        if param.is_flag:     # its names, then the help: no metavar
            names = " / ".join(filter(None, (", ".join(param.opts), ", ".join(param.secondary_opts))))
            assert re.match(rf"\s*{re.escape(names)}\s\s", blocks[param.opts[0]] + "  "), row
        elif param.default is not None or param.opts[-1] in DEFAULT_DESCRIBED:
            shown = (str(getattr(param.default, "value", param.default)) if param.default is not None
                     else DEFAULT_DESCRIBED[param.opts[-1]])
            assert "[default: " in row and shown in row, f"{name} {param.opts}: default not shown\n{row}"


def test_the_top_level_help():
    text = help_text()
    assert "<bool>" not in text and all(name in text for name in GROUP.commands)


def test_sweep_help_lists_every_parameter():
    row = " ".join(option_blocks(help_text("sweep"))["--vary"].split())
    missing = [key for key in PARAMETERS if key not in row]
    assert not missing, row


@pytest.mark.parametrize("args", [
    ["solve", "sample", "--out", "p", "--soft", "true"],
    ["solve", "--soft", "false", "sample", "--out", "p"],
    ["solve", "sample", "--out", "p", "--integer", "yes"],
    ["sweep", "sample", "--out", "s", "--restart", "1"],
])
def test_a_flag_given_a_value_is_named(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, args)
    flag = next(a for a in args if a in ("--soft", "--integer", "--restart"))
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
    assert r.output.startswith(f"error: {flag} takes no value") and "on/off flag" in r.output
    assert not list(tmp_path.iterdir())
