"""Near-data and in-memory processing: the same network on a baseline and on near-data architecture variants."""
