"""`scripts/benchmark_api.py`: frames/s of `EmotionRecognizer.analyze_video` beside the live stream's loop.

Both run on the same clip in the same process, in turns (each goes first every other round), after one
warm-up pass each: the live stream as `predict_live_stream.py realtime=false show=false` runs it (its config,
its pipeline with detection inline, as that command has run a file read as fast as it decodes since 2026-12-07,
its console sink), the API with its DataFrame recorder and progress bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from omegaconf import DictConfig

from facial_emotion.api import EmotionRecognizer, InputError
from facial_emotion.api.settings import VIDEO_CONFIG, compose_settings
from facial_emotion.api.video_analysis import open_video
from facial_emotion.core.hardware import describe_device
from facial_emotion.core.options import OptionError, exit_with_error, flag, number
from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_pipeline, synchronous
from facial_emotion.video.sinks import ConsoleSink
from facial_emotion.video.streaming import feed_sinks


def benchmark_api(cfg: DictConfig) -> None:
    """Print the frames/s of both (median and each pass) and the CPU time per frame of this process."""
    expand_home(cfg)
    try:
        threads = number(cfg, "threads", minimum=1, integer=True)
        repeats = number(cfg, "repeats", minimum=1, integer=True)
        every = number(cfg, "every", minimum=0)
        progress = flag(cfg, "progress")
        if threads is None or repeats is None or every is None:
            raise OptionError("threads, repeats and every need a value (not null)")
        source = open_video(cfg.video)
        frames = source.frame_count
        source.close()
    except (OptionError, InputError) as error:
        exit_with_error(str(error))
    torch.set_num_threads(threads)
    live = compose_settings(VIDEO_CONFIG)
    predictor = EmotionPredictor(live.model_path, tta=live.tta, backend=live.backend)  # as the script loads it
    live_pipeline = build_pipeline(synchronous(live.face_pipeline), predictor)  # realtime=false detects inline
    recognizer = EmotionRecognizer()

    def live_stream() -> None:
        live_pipeline.reset()
        feed_sinks(live_pipeline.run(open_video(cfg.video)), [ConsoleSink(print_line=lambda line: None)])

    def api() -> None:
        recognizer.analyze_video(cfg.video, every=every, progress=progress)

    runs: dict[str, Callable[[], None]] = {"predict_live_stream realtime=false": live_stream, "analyze_video": api}
    print(f"Hardware: {describe_device('cpu')}; torch threads {torch.get_num_threads()}")
    print(f"{cfg.video}: {frames} frames; every={every:g} progress={str(progress).lower()}; {repeats} passes each")
    fps: dict[str, list[float]] = {name: [] for name in runs}
    cpu_ms: dict[str, list[float]] = {name: [] for name in runs}  # this process's CPU time: robust to other load
    for index in range(repeats + 1):
        order = list(runs.items()) if index % 2 else list(runs.items())[::-1]  # neither always runs first
        for name, run in order:
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            if index > 0:  # the first pass warms up
                fps[name].append(frames / (time.perf_counter() - wall))
                cpu_ms[name].append(1000 * (time.process_time() - cpu) / frames)
    for name in runs:
        passes = " ".join(f"{v:.1f}" for v in fps[name])
        print(
            f"  {name:<36} median {np.median(fps[name]):5.1f} frames/s (passes: {passes}); "
            f"CPU {np.median(cpu_ms[name]):5.1f} ms/frame"
        )
