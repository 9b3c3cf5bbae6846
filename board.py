"""The live drawing board: draw digits with the mouse (or a finger) and watch the model read
them. `python board.py --help` lists the options; the command is digitboard/cli/board.py."""

from digitboard.cli.board import main

if __name__ == "__main__":
    main()
