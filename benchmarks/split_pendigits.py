"""Split UCI pendigits' UNIPEN file by writer, to measure reading of writers a model never saw.

    python benchmarks/split_pendigits.py ../shared/pendigits/pendigits-orig.tra --holdout 25-30

writes runs/pendigits-train.tra (the other writers) and runs/pendigits-holdout.tra.
In this file each `.COMMENT <label> <writer> <n>` line names the digit's writer (1–30).
"""

from pathlib import Path

import click

from digitboard.cli.options import Command, ExistingPath


def parse_range(text: str) -> set[str]:
    low, _, high = text.partition("-")
    return {str(w) for w in range(int(low), int(high or low) + 1)}


@click.command(cls=Command, context_settings={"show_default": True})
@click.argument("source", type=ExistingPath(dir_okay=False, path_type=Path))
@click.option("--holdout", default="25-30", help="Writers to hold out, e.g. 25-30.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              help="Folder for the two files.")
def main(source, holdout, out):
    """Write the held-out writers' digits and the others' to two UNIPEN files."""
    held_out = parse_range(holdout)
    header, segments = [], []
    for line in source.read_text().splitlines(keepends=True):
        if line.startswith(".SEGMENT"):
            segments.append([line, None])
        elif not segments:
            header.append(line)
        else:
            if line.startswith(".COMMENT") and segments[-1][1] is None:
                segments[-1][1] = line.split()[2]
            segments[-1][0] += line
    out.mkdir(parents=True, exist_ok=True)
    for name, keep in (("train", False), ("holdout", True)):
        chosen = [text for text, writer in segments if (writer in held_out) == keep]
        (out / f"pendigits-{name}.tra").write_text("".join(header + chosen))
        click.echo(f"{out / f'pendigits-{name}.tra'}: {len(chosen)} digits")


if __name__ == "__main__":
    main()
