# Colab's kernel imports google.colab at start; the chapters' set-up cells look for it in sys.modules.
import google.colab  # noqa: F401
