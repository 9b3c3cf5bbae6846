"""Reading digits: a canvas, and the strokes that drew it, in; the digits on it out.
The recognizer (recognizer.py) finds digits in the ink alone (ink.py) or among the strokes
(strokes.py), makes each a 28×28 input the MNIST way (image.py) and reads it with the image
model and, with strokes, the stroke model (trajectory.py), in one fast call (lite.py)."""
