"""Measure a digit reader: MNIST, replayed pen data, numbers, speed.
`python evaluate.py --help` lists the commands; they are in digitboard/cli/evaluate.py."""

from digitboard.cli.evaluate import cli

if __name__ == "__main__":
    cli()
