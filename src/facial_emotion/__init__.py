"""Facial emotion recognition on FER2013: training with Lightning + Hydra, inference on video streams."""
