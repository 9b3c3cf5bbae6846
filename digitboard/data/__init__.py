"""Data on disk: image sets (MNIST, IDX files, class folders), pen data (UNIPEN text, the
board's stroke JSON) and a person's labelled drawings."""
