"""What pyproject.toml cannot say: a wheel bundles the checkout files the package runs with.

`pip install .` (or `pip install git+<repository>`) copies `configs/`, the two scratch model files, the int8 graphs
shipped with them (`results/model/graphs/`: int8 at once, no FER2013 needed) and the demo video into the wheel
under `facial_emotion/bundled/`, laid out as in the checkout, so `EmotionRecognizer()` and `facial-emotion
<command>` work from any folder (`facial_emotion/data/locate.py` finds them). Editable installs (`make setup`)
keep reading the checkout itself.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = {
    "configs": "**/*.yaml",
    "results/model": "my_own_model*.pkl",  # my_own_model.pkl (predict.py's) and the real-face file (the API's)
    "results/model/graphs": "my_own_model*.int8.*",  # their checked int8 graphs and manifests
    "results/preprocessing_test": "input_video.mp4",  # what the live stream plays without a camera
}


class BuildPyWithBundle(build_py):
    """`build_py`, then the checkout files above copied to `facial_emotion/bundled/` in the build."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        bundle = Path(self.build_lib) / "facial_emotion" / "bundled"
        for folder, pattern in BUNDLED.items():
            sources = sorted((ROOT / folder).glob(pattern))
            if not sources:  # a wheel without them would install and then fail on first use
                raise FileNotFoundError(f"{ROOT / folder}/{pattern}: nothing to bundle (build from a checkout)")
            for source in sources:
                target = bundle / folder / source.relative_to(ROOT / folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


setup(cmdclass={"build_py": BuildPyWithBundle})
