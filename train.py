"""Train a digit reader on MNIST (and pen data), or teach one your handwriting.
`python train.py --help` lists the options; the command is digitboard/cli/train.py."""

from digitboard.cli.train import main

if __name__ == "__main__":
    main()
