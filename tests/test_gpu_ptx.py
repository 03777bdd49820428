"""The general GPU kernel's PTX has no multiply-add of its own (GPU tier).

libNVVM contracts ``a * b + c`` into one fused multiply-add by default, which rounds once where the CPU rounds
twice, so every product of the shared step that feeds a sum is written ``mul(a, b)`` (heecon/engine/microsim/step.py)
and ``mul`` is libdevice's ``dmul_rn`` on a GPU (heecon/engine/microsim/twin.py). This test compiles the general
kernel's PTX for the device (with line information, twins included) and attributes every ``fma.rn.f64`` to the
source line it comes from. As far as PTX can tell:

* every multiply-add on a line of ours must be on a line that calls a libdevice function (exp, log, log1p, expm1,
  sqrt, cos, pow or ``**``), whose bodies are polynomials evaluated with multiply-adds on purpose;
* the ones PTX gives no line of ours (the kernel's first line: libdevice code compiled without line information)
  are not products of ours: the same count appears with the plain product, whose own fusions show on their lines;
* the check has teeth: the same kernel with ``mul`` as the plain product fuses products of ours (on lines without a
  libdevice call) and fails the first rule.

It runs where numba-cuda finds a CUDA device (marker ``gpu``). ``HEECON_PTX_CHECK=1`` runs it without one where
libNVVM is installed (CUDA_HOME), for sm_90: PTX compilation needs no device.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from heecon.engine.microsim import gpu as microsim_cuda

_OPT_IN = os.environ.get("HEECON_PTX_CHECK") == "1"
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not (microsim_cuda.available() or _OPT_IN),
                                                  reason="no CUDA GPU (numba-cuda); HEECON_PTX_CHECK=1 to run on libNVVM")]

#: Source text of a call whose libdevice body may hold multiply-adds.
_LIBDEVICE = re.compile(r"math\.(exp|log|log1p|expm1|sqrt|cos|pow)\(|\*\*")


def _compile_ptx(plain_mul: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """PTX of the general kernel for the all-features kernel case, and the kernel's file (twins with lineinfo)."""
    import numba

    from heecon.engine.microsim import twin
    from heecon.engine.microsim.inputs import prepare_inputs

    from .gpu_cases import kernel_cases

    cuda = microsim_cuda._cuda()
    if microsim_cuda.available():
        cc = cuda.get_current_device().compute_capability
    else:  # no device: compile for sm_90 (device functions ask the current device for its compute capability)
        import numba.cuda.dispatcher as dispatcher

        cc = (9, 0)
        monkeypatch.setattr(dispatcher, "get_current_device", lambda: SimpleNamespace(compute_capability=cc))
    mul = cuda.jit(device=True)(lambda a, b: a * b) if plain_mul else twin.device_mul(cuda, False)
    tw = twin.build_twins(cuda, {"mul": mul}, lineinfo=True)
    kw = {k: v for k, v in kernel_cases(64, 2)["all_features"].items() if k not in ("sample_offset", "ind_offset")}
    a = prepare_inputs(**kw)
    p2 = microsim_cuda._pow2
    kernel = microsim_cuda.build_general_kernel(128, 16, p2(2 * a["R"]), p2(a["E"]), p2(a["K"]), p2(a["S"]),
                                                twins=tw, lineinfo=True)
    per_sample, shared = microsim_cuda._general_host_tables(a)
    host = dict(shared, **{k: microsim_cuda._dev_array(x, t) for k, (x, t) in per_sample.items()})
    i8 = np.int64
    host.update(k_seed=np.uint64(1), sample_offset=i8(0), batch_lo=i8(0), ind_offset=i8(0), i_lo=i8(0), n_ind=i8(64),
                acc=np.zeros((2, 2), i8), p_occ=np.zeros((1, 1, 1, 1), i8), p_cr=np.zeros((1, 1, 1, 1, 2), i8),
                p_ce=np.zeros((1, 1, 1, 1), i8), traj=np.zeros((1, 1, 1), i8))
    sig = tuple(numba.typeof(host[name]) for name in microsim_cuda.GENERAL_ARGS)
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=cc, lineinfo=True)
    return ptx, kernel.py_func.__code__.co_filename


def _fma_sites(ptx: str, kernel_file: str) -> tuple[dict[tuple[str, int], int], int]:
    """fma.rn.f64 per (file, line) of the preceding .loc, and the number PTX places on the kernel's first lines."""
    files = dict(re.findall(r'\.file\s+(\d+)\s+"([^"]+)"', ptx))
    sites: dict[tuple[str, int], int] = {}
    loc = ("", 0)
    for line in ptx.splitlines():
        m = re.match(r"\s*\.loc\s+(\d+)\s+(\d+)", line)
        if m:
            loc = (files.get(m.group(1), ""), int(m.group(2)))
        elif "fma.rn.f64" in line:
            sites[loc] = sites.get(loc, 0) + 1
    src = Path(kernel_file).read_text().splitlines()
    first = {k for k, text in enumerate(src, 1) if "def kernel(k_seed, sample_offset, batch_lo" in text}
    unplaced = sum(n for (f, ln), n in sites.items() if f == kernel_file and (ln in first or ln + 1 in first))
    return sites, unplaced


def _own_fmas(sites: dict[tuple[str, int], int], kernel_file: str) -> list[str]:
    """The sites on a line of ours that calls no libdevice function (products fused into a multiply-add)."""
    bad = []
    lines = {f: Path(f).read_text().splitlines() for f, _ in sites if f.endswith(".py") and Path(f).is_file()}
    for (f, ln), n in sorted(sites.items()):
        if f not in lines or ln < 1:
            continue
        text = lines[f][ln - 1]
        if "def kernel(" in text or "@cuda.jit" in text:
            continue
        if not _LIBDEVICE.search(text):
            bad.append(f"{Path(f).name}:{ln} ({n}): {text.strip()}")
    return bad


def test_general_kernel_fuses_no_product_of_its_own(monkeypatch):
    ptx, kfile = _compile_ptx(False, monkeypatch)
    assert "mul.rn.f64" in ptx  # the products rounded on their own
    sites, unplaced = _fma_sites(ptx, kfile)
    assert _own_fmas(sites, kfile) == []
    # the check has teeth: with the plain product, products of ours are fused on their own lines
    ptx_plain, _ = _compile_ptx(True, monkeypatch)
    sites_plain, unplaced_plain = _fma_sites(ptx_plain, kfile)
    assert len(_own_fmas(sites_plain, kfile)) > 0
    assert unplaced == unplaced_plain  # the unplaced ones are libdevice's, not products of ours
