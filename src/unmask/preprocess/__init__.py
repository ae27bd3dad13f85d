"""Preprocessing shared between detectors, memoised per media with `Media.shared`."""
