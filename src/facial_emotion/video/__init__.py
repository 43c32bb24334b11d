"""Video and photo inference: frame source -> face detector -> cropper -> tracker -> predictor -> sinks."""
