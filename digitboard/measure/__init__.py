"""Measuring a recognizer: test sets, replayed pen data, numbers, speed; and the plots."""
