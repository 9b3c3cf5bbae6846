"""Split the UNIPEN 1a digits by writer and by site, to measure reading of writers, and of
tablets, a model never saw.

    python benchmarks/split_unipen.py                       # ../shared/unipen/unipen-1a.txt
    python benchmarks/split_unipen.py SOURCE --sites imp,tos --holdout 0.2 --seed 0

writes three UNIPEN files in the source's layout, its header kept:

    runs/unipen-holdout-sites.tra    every digit from the held-out sites (imp and tos: 800
                                     digits by 91 writers, on two tablets no other site used)
    runs/unipen-holdout-writers.tra  a seeded 20 % of the other sites' writers, whole writers
    runs/unipen-train.tra            the rest

Each `.COMMENT <label> <writer> <donor>` line names a digit's writer (unique in the file) and
its donor site. apa, apb and app are one site (Apple), and cea, ceb and ced one (CEDAR):
naming one holds out all three.
"""

from pathlib import Path

import click
import numpy as np

from digitboard.cli.options import Command, ExistingPath
from digitboard.common.paths import ROOT, RUNS_DIR

SOURCE = ROOT.parent / "shared" / "unipen" / "unipen-1a.txt"
SITE_OF_DONOR = {"apa": "apple", "apb": "apple", "app": "apple", "cea": "cedar", "ceb": "cedar", "ced": "cedar"}


def read_segments(text: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """(the header's lines, each digit as (its text, writer, donor)): a digit's text runs from
    its `.SEGMENT` line to the next; a `.COMMENT <label> <writer> <donor>` right after that line
    names who wrote it where ("" where it does not)."""
    header, segments = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith(".SEGMENT"):
            segments.append([line, "", ""])
        elif not segments:
            header.append(line)
        else:
            words = line.split()
            if line.startswith(".COMMENT") and len(words) >= 3 and segments[-1][0].count("\n") == 1:
                segments[-1][1] = words[2]
                segments[-1][2] = words[3] if len(words) >= 4 else ""
            segments[-1][0] += line
    return header, [tuple(segment) for segment in segments]


def site(donor: str) -> str:
    """The site a donor belongs to: the donor itself, but Apple's and CEDAR's three as one."""
    return SITE_OF_DONOR.get(donor, donor)


def split(segments: list[tuple[str, str, str]], sites: set[str], share: float,
          seed: int) -> dict[str, list[tuple[str, str, str]]]:
    """The digits of `sites` (donor codes or sites) held out; of the other writers, a seeded
    `share` (by count of writers, whole writers) held out; the rest to train on."""
    held_sites = {site(name) for name in sites}
    others = [s for s in segments if site(s[2]) not in held_sites]
    writers = sorted({writer for _, writer, _ in others})
    held_writers = set(np.random.default_rng(seed).choice(writers, round(share * len(writers)), replace=False))
    return {"holdout-sites": [s for s in segments if site(s[2]) in held_sites],
            "holdout-writers": [s for s in others if s[1] in held_writers],
            "train": [s for s in others if s[1] not in held_writers]}


@click.command(cls=Command, context_settings={"show_default": True})
@click.argument("source", type=ExistingPath(dir_okay=False, path_type=Path), default=SOURCE)
@click.option("--sites", default="imp,tos", help="Donor sites to hold out whole, comma-separated.")
@click.option("--holdout", type=click.FloatRange(0, 1), default=0.2,
              help="Share of the other sites' writers to hold out.")
@click.option("--seed", type=int, default=0, help="Seed for choosing the held-out writers.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=RUNS_DIR,
              help="Folder for the three files.")
def main(source, sites, holdout, seed, out):
    """Write the held-out sites' digits, the held-out writers' and the rest to three UNIPEN files."""
    header, segments = read_segments(source.read_text())
    named = {name.strip() for name in sites.split(",") if name.strip()}
    unknown = {name for name in named if site(name) not in {site(donor) for _, _, donor in segments}}
    if unknown:
        raise click.BadParameter(f"no digits from {', '.join(sorted(unknown))} in {source}", param_hint="--sites")
    out.mkdir(parents=True, exist_ok=True)
    about = (f".COMMENT split by benchmarks/split_unipen.py from {source.name}: sites {','.join(sorted(named))} "
             f"held out; {holdout:g} of the other writers held out (seed {seed}); this file: ")
    for name, chosen in split(segments, named, holdout, seed).items():
        path = out / f"unipen-{name}.tra"
        path.write_text("".join([*header, about + name + "\n", *(text for text, _, _ in chosen)]))
        writers = len({writer for _, writer, _ in chosen})
        click.echo(f"{path}: {len(chosen)} digits by {writers} writers")


if __name__ == "__main__":
    main()
