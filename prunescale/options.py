"""Option parsing shared by every command: comma lists, JSON output, and the common options."""

from __future__ import annotations

import json
import math

import typer

from prunescale.store import jsonable

JSON = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")
THETA = typer.Option(
    0.0, "--theta", help="Angle between the pruning metric and the teacher, degrees in [0, 90]. 0 = perfect metric."
)


def _only_in_a_checkout(refresh: bool) -> bool:
    from prunescale.figures import in_source_checkout

    if refresh and not in_source_checkout():
        raise typer.BadParameter("refreshes the committed copies in a source checkout only; this is an installed package")
    return refresh


REFRESH_COMMITTED = typer.Option(
    False,
    "--refresh-committed",
    help="Write the committed copies (figures/ and figures/data/ of a source checkout) instead of results/. Only on purpose.",
    callback=_only_in_a_checkout,
)


def floats(text: str, name: str):
    """Parse '1,2.5,1e3' into a non-empty list of finite floats, naming the option on failure."""
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        raise ValueError(f"{name} must hold at least one number, got {text!r}")
    if not all(items):
        raise ValueError(f"{name} has an empty item (two commas in a row, or one at an end): {text!r}")
    try:
        values = [float(t) for t in items]
    except ValueError:
        raise ValueError(f"{name} must be a comma-separated list of numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be finite numbers, got {text!r}")
    return values


def ints(text: str, name: str):
    """Parse '100,200' into a non-empty list of integers; '100.5' is an error, not 100."""
    values = floats(text, name)
    if any(not v.is_integer() for v in values):
        raise ValueError(f"{name} must be integers, got {text!r}")
    return [int(v) for v in values]


def words(text: str, name: str):
    """Parse 'hard,easy' into a non-empty list of names."""
    values = [t.strip() for t in text.split(",")]
    if not any(values):
        raise ValueError(f"{name} must hold at least one name, got {text!r}")
    if not all(values):
        raise ValueError(f"{name} has an empty item (two commas in a row, or one at an end): {text!r}")
    return values


def table(rows, columns) -> list[str]:
    """``rows`` (dicts) as aligned text lines under a header: ``columns`` is ``[(key, header, format spec), ...]``;
    each column is as wide as its widest cell, right-aligned.  One printer for every table the commands show."""
    cells = [[header for _, header, _ in columns]]
    cells += [[format(row[key], spec) for key, _, spec in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return ["  ".join(cell.rjust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]


def emit(record, as_json, lines):
    """Print ``record`` as JSON, or ``lines`` as text."""
    if as_json:
        typer.echo(json.dumps(record, indent=2, default=jsonable))
    else:
        for line in lines:
            typer.echo(line)
