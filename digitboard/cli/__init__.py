"""The commands: board, train and evaluate (the top-level board.py, train.py and
evaluate.py call these), and what they share (options.py)."""
