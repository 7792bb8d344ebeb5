"""Studies built on the five nouns (never imported by them): the survey's dataflow comparison at equal area and
its plot. Validation studies live in `stationary.validate`."""
