"""Image detectors, one module per method."""
