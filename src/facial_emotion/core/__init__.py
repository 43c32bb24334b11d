"""What every layer shares: the model-file format, its preprocessing record, labels, hardware, calibration maths."""
