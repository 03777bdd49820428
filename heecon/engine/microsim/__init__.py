"""engine/microsim"""

from heecon.engine.microsim import _cache  # noqa: F401  (numba's cache keyed on all the kernel's files)
