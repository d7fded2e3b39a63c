"""The ``reliability`` command: every subcommand, nested ones included, documents an example."""

from __future__ import annotations

import argparse

import pytest

from reliability.cli import COMMANDS, build_parser, main


def _subcommands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found.extend(_subcommands(sub, (*prefix, name)))
    return found


def test_every_registered_command_is_reachable() -> None:
    top = {path[0] for path in _subcommands(build_parser())}
    assert top == set(COMMANDS)


@pytest.mark.parametrize("path", _subcommands(build_parser()), ids=" ".join)
def test_every_subcommand_help_has_an_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "example" in text.lower()
    # The example shows the command itself being run.
    assert "reliability " + " ".join(path) in text.split("usage:", 1)[1].split("\n", 1)[1]


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
