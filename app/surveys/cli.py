from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import db_session
from .definition import DefinitionError
from .models import SurveyVersion
from .services import builtin_files, read_document, store_version

surveys_cli = AppGroup("surveys", help="Survey definitions (docs/surveys.md).")


def _paths(files: tuple[str, ...], builtin: bool) -> list[Path]:
    paths = [Path(f) for f in files] + (builtin_files() if builtin else [])
    if not paths:
        raise click.UsageError("name survey files, or --builtin")
    return paths


@surveys_cli.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--builtin", is_flag=True, help="Also the surveys shipped with Kundröst.")
def check_command(files: tuple[str, ...], builtin: bool) -> None:
    """Validate survey files without touching the database."""
    failed = False
    for path in _paths(files, builtin):
        try:
            read_document(path)
            click.echo(f"ok       {path}")
        except DefinitionError as error:
            failed = True
            click.echo(f"invalid  {error}", err=True)
    if failed:
        raise SystemExit(1)


@surveys_cli.command("load")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--builtin", is_flag=True, help="Also the surveys shipped with Kundröst.")
def load_command(files: tuple[str, ...], builtin: bool) -> None:
    """Validate survey files and store them as survey versions."""
    try:
        for path in _paths(files, builtin):
            version, created = store_version(db_session, read_document(path))
            state = "loaded " if created else "present"
            click.echo(f"{state}  {version.key} v{version.version}  ({path.name})")
    except DefinitionError as error:
        db_session.rollback()
        raise click.ClickException(str(error)) from error
    db_session.commit()


@surveys_cli.command("list")
def list_command() -> None:
    """Show the stored survey versions."""
    for version in db_session.scalars(select(SurveyVersion).order_by(SurveyVersion.key, SurveyVersion.version)):
        click.echo(f"{version.id:>4}  {version.key} v{version.version}  {version.digest[:12]}")
