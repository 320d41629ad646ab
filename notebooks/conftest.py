"""nbval waits 60 s, not its hard-coded 5, for a cell's outputs after the cell has finished.

nbval runs a cell under ``--nbval-cell-timeout``, then reads the cell's outputs from the kernel
with a fixed 5-second limit per message (nbval issues #136 and #231: it is not configurable).
On a loaded 2-core CI machine that limit fails a chapter whose cell had already finished and
passed: "Timeout of 5 seconds exceeded waiting for output" (seen once, chapter 4, after a
63-second training cell). The limit only matters once a cell is done, so raising it hides no
slow cell; ``--nbval-cell-timeout`` still bounds every cell. Both CI lanes collect this file
(the Colab lane copies notebooks/ whole).
"""

from __future__ import annotations

OUTPUT_TIMEOUT_S = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout") and type(item).__name__ == "IPyNbCell":
            item.output_timeout = OUTPUT_TIMEOUT_S
