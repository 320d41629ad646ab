"""Helper package of the course *From Pixels to Multimodal LLMs*.

One concept per module; import what a chapter needs, e.g.::

    from course_utils import runtime
    from course_utils.data import load_dataset
    from course_utils.plotting import show_images

Importing the package does nothing else: no device probing, no downloads.
"""

__version__ = "0.1.0"
