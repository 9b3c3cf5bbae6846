"""The drawing board: its state (state.py), painting it (view.py), the frame loop and its
events (loop.py), and the model's reader thread and teaching process beside the loop.
The only part of digitboard that imports pygame; the kiosk's supervisor (supervisor.py),
which runs the board as its child, imports neither pygame nor TensorFlow."""
