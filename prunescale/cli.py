"""The ``prunescale`` console script: one subcommand group per package."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .commands.prune import prune_cmd
from .commands.sim import app as sim_app
from .commands.theory import app as theory_app
from .commands.validate import app as validation_app

app = typer.Typer(rich_markup_mode=None, 
    help="prunescale: can we prune training data without hurting the model, and beat power-law scaling?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(theory_app, name="theory")
app.add_typer(sim_app, name="sim")
app.add_typer(validation_app, name="validate")
app.command("prune")(prune_cmd)


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(
        Path("results/demo"), "--out", help="Folder for the report, its figures and results.json."
    ),
    full: bool = typer.Option(False, "--full", help="More pools, angles, seeds and N = 200 (more than 20 minutes on 2 cores)."),
):
    """The main job: theory, a checking simulation, the figures and a report, in about a minute."""
    from prunescale.demo import run

    run(out, full=full, echo=typer.echo)


def main(argv=None):
    """Run the CLI.  Bad input, a missing file or a solver that cannot converge exits with code 2 and one line."""
    from prunescale.theory import ConvergenceError

    try:
        app(args=argv, prog_name="prunescale")
    except SystemExit as exc:  # click ends every run this way; success returns
        if exc.code not in (0, None):
            raise
    except (ValueError, FileNotFoundError, ConvergenceError) as exc:
        _close_progress_bars()  # so that the error starts a line of its own, not the end of a bar's
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _close_progress_bars():
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()
