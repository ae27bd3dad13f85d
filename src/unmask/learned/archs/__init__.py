"""Network architectures, one per module; each module sets `ARCH` to its ForensicNet class."""
