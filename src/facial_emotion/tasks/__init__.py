"""One module per command: `scripts/<name>.py` parses its config and calls `facial_emotion.tasks.<name>.run(cfg)`.

Importing this package registers the OmegaConf resolvers the configs use (`${project_root:}`, ...), before Hydra
composes a script's config.
"""

from facial_emotion.training.resolvers import register_resolvers

register_resolvers()
