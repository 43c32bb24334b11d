"""The browser app: live webcam, video files and photos over the Python API (`create_app`)."""
