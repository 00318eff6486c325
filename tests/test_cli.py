"""The command line: every option of every command explains itself, --version answers, and a bad command
line is one line that names the bad argument."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from cli import VERSION, build_parser
from tests.conftest import ROOT


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"": parser, **sub.choices}


def test_every_option_of_every_command_has_a_help_text():
    missing = [f"{name or 'bot.py'} {action.dest}" for name, parser in commands().items()
               for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction) and not (action.help or "").strip()]
    assert missing == []


def test_every_command_has_a_help_line():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {choice.dest for choice in sub._choices_actions if (choice.help or "").strip()} == set(sub.choices)


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "bot.py", *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_bots_own_commands_never_import_the_sandbox():
    probe = "import sys, cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'sandbox'))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def test_version():
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"bot.py {VERSION}"


@pytest.mark.parametrize("argv, named", [
    (["serve", "--port", "eighty"], "argument --port: invalid int value: 'eighty'"),
    (["nonsense"], "invalid choice: 'nonsense'"),
    (["menu", "paint"], "argument action: invalid choice: 'paint'"),
    (["import"], "the following arguments are required: path"),
    (["demo", "--colour"], "unrecognized arguments: --colour"),
    ([], "the following arguments are required: COMMAND"),
])
def test_a_bad_command_line_is_one_line_naming_the_argument(argv, named, capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert named in err and "--help" in err


def test_the_entry_point_says_it_the_same_way():
    done = run("serve", "--port", "eighty")
    assert done.returncode == 2 and done.stderr == \
        "bot.py serve: error: argument --port: invalid int value: 'eighty' (see bot.py serve --help)\n"
