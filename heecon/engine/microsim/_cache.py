"""numba's on-disk cache of the microsimulation kernels, keyed on every file they compile in.

numba keys a cached function on its own source file only. The CPU kernel (cpu.py) inlines functions of person.py,
step.py, tables.py, rng.py and fixedpoint.py, so after an edit of one of those it would load the old machine code from
``__pycache__`` (the GPU twins, compiled from the source, would not: the cudasim tests would then fail, and the
golden outputs pass on stale code). The locators below make the stamp of every cached function in this folder the
hashes of all six files, so an edit of any of them recompiles them all (once; about a minute). They sit in front
of numba's own locators (the same cache folders: ``NUMBA_CACHE_DIR`` or ``__pycache__``) and only for this folder.
"""

from __future__ import annotations

import os
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_FILES = tuple(os.path.join(_HERE, f) for f in ("cpu.py", "person.py", "step.py", "tables.py", "rng.py", "fixedpoint.py"))


def _register() -> None:
    try:
        from numba.core import caching

        hash_file = caching._hash_source_file
        user_provided, in_tree = caching.UserProvidedCacheLocator, caching.InTreeCacheLocator
    except (ImportError, AttributeError):  # another numba: its own locators (per-file stamps) apply
        return

    class _EngineFiles:
        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if os.path.dirname(os.path.abspath(py_file)) != _HERE:
                return None
            return super().from_function(py_func, py_file)  # type: ignore[misc]

        def get_source_stamp(self) -> Any:
            return tuple(hash_file(p, os.stat(p).st_mtime, os.stat(p).st_size) for p in _FILES)

    class EngineUserProvidedLocator(_EngineFiles, user_provided):  # type: ignore[misc, valid-type]
        pass

    class EngineInTreeLocator(_EngineFiles, in_tree):  # type: ignore[misc, valid-type]
        pass

    locators = caching.CacheImpl._locator_classes
    if not any(getattr(c, "__name__", "") == "EngineInTreeLocator" for c in locators):
        locators[:0] = [EngineUserProvidedLocator, EngineInTreeLocator]


_register()
