"""Docs as tests: every CLI command has help and a line in the user guide, every check and setting too."""

from __future__ import annotations

from dataclasses import fields

from studio.checks.runner import CHECKS
from studio.cli.main import build_parser
from studio.paths import SOURCE_ROOT
from studio.training.trainer import TrainConfig

GUIDE = (SOURCE_ROOT / "docs" / "user-guide.md").read_text()


def commands() -> dict:
    parser = build_parser()
    return next(a for a in parser._subparsers._group_actions).choices


def test_every_cli_command_has_help_and_a_line_in_the_guide():
    for name, sub in commands().items():
        assert sub.description, name
        assert f"`studio {name}" in GUIDE, name


def test_every_check_has_a_docstring_and_a_line_in_the_guide():
    for check in CHECKS:
        assert check.__doc__ and len(check.__doc__.strip()) > 40, check.__name__
        assert f"`{check.__name__}`" in GUIDE, check.__name__


def test_every_kind_of_check_is_typed_once_and_named_in_the_guide():
    from dataclasses import fields as dataclass_fields

    from studio.checks.findings import SEVERITIES, CheckConfig
    from studio.checks.kinds import CHECK_KINDS, KINDS

    settings = {spec.name for spec in dataclass_fields(CheckConfig)}
    assert len(set(KINDS)) == len(KINDS) == len(CHECK_KINDS)
    for kind in CHECK_KINDS:
        assert f"**{kind.title}**" in GUIDE, kind.title
        assert kind.finds and kind.score_means and set(kind.severities) <= set(SEVERITIES), kind.name
        assert set(kind.settings) <= settings, kind.name


def test_every_training_setting_has_help_and_a_row_in_the_guide():
    for spec in fields(TrainConfig):
        assert spec.metadata.get("help"), spec.name
        assert f"| {spec.name} |" in GUIDE, spec.name


def test_readme_opens_with_the_two_commands():
    readme = (SOURCE_ROOT / "README.md").read_text()
    opening = readme.split("## ")[0]
    assert "make run" in opening and "make test" in opening
