"""A stand-in for Colab's ``google.colab`` package, for the CI lane that replays Colab's stack.

The chapters only test ``"google.colab" in sys.modules`` (as on Colab, where the kernel
imports it at start); this lane imports it from an IPython startup file for the same
reason. It offers nothing else, so a chapter that used a Colab-only API would fail here.
"""
