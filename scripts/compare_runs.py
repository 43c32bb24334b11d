"""Compare the runs of a sweep: `python scripts/compare_runs.py outputs/train/multiruns/<sweep> [--metric ...]`."""

from facial_emotion.sweeps.compare_cli import main

if __name__ == "__main__":
    main()
