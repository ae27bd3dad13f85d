"""Face detectors, one module per method: they read the faces unmask.faces finds, in images and videos."""
