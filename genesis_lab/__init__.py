"""genesis-lab: a closed-loop autonomous laboratory controller.

Importing this package starts nothing and imports nothing heavy; the layers live in
subpackages (``spec``, ``messages``, ``planning``, ``messaging``, ``store``, ``station``,
``worker``, ``orchestration``, ``cli``).
"""

from genesis_lab.errors import GenesisLabError

__all__ = ["GenesisLabError", "__version__"]

__version__ = "0.1.0"
