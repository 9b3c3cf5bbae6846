"""Training: networks, augmentation, a run's data, fitting with early stopping and a model
card, the grid search, and teaching a model one person's handwriting."""
