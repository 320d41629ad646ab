"""Helper package of the course *From Pixels to Multimodal LLMs*.

One concept per module, in layers (ARCHITECTURE.md at the repository's root); import what
a chapter needs, e.g.::

    from course_utils import runtime
    from course_utils.classification import CifarFastRecipe, run_cifar_fast
    from course_utils.data import load_dataset
    from course_utils.plotting import show_images

Importing the package does nothing else: no device probing, no downloads.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("course-utils")  # pyproject.toml's, the release Colab installs
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "unknown"
