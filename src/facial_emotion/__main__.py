"""`python -m facial_emotion <command> [key=value ...]`: `facial-emotion` where its script is not on PATH."""

from facial_emotion.tasks.cli import main

if __name__ == "__main__":
    main()
