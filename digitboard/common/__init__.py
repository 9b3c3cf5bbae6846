"""What every part of digitboard shares: the one error type for bad input, writing files in
one step, default locations, and quiet imports of TensorFlow."""
