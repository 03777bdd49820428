"""The general microsimulation kernel on the GPU (numba-cuda): device functions and the kernel factory.

Private to :mod:`heecon.engine.microsim.gpu`, which imports it only after numba-cuda loaded (and NumPy's
``row_stack`` was restored). ``cuda`` is a module global here on purpose: numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) swaps the module globals named ``cuda`` of a kernel for its fake module, so the
same source runs on a GPU and, in Python, in the simulator (the tests use the simulator; see
tests/test_gpu_general.py).

Every step mirrors ``_block_general`` and its samplers in :mod:`heecon.engine.microsim.cpu` (the specification,
with docs/microsim-kernel.md), with the same counters of the same generator and the same association of every
floating-point sum. Two things differ from a plain transcription:

* ``_mul(a, b)``: every product that is not exact is rounded on its own (libdevice ``dmul_rn``, PTX
  ``mul.rn.f64``). libNVVM contracts ``a * b + c`` into one fused multiply-add by default (``-fma=1``;
  numba-cuda gives no switch), and ptxas may fuse a plain ``mul.f64`` with an addition it meets later, even
  inside an inlined libdevice function; either rounds once where the CPU kernel rounds twice. Checked by
  compiling the kernel with contraction on and off: the kernel's own arithmetic has no fused multiply-add left
  (the few that remain are inside libdevice's log and pow, in the gamma draw). In the simulator ``_mul`` is the
  plain product, which is what the CPU kernel computes.
* Transcendental functions (exp, log, log1p, expm1, cos, pow) come from libdevice on the GPU, accurate to
  1-2 units in the last place but not always equal to glibc's. The wrapper precomputes on the host, with the
  CPU's functions, every one that does not depend on the individual (log of time-in-state multipliers,
  log1p(-p) of the stored transition probabilities, exp(gamma x step) of counter steps, dropout and move
  probabilities). The others (hazard ratios of covariates, Poisson and Bernoulli thresholds, the
  Marsaglia-Tsang gamma draw of the attendance propensity) feed only comparisons with a uniform: a GPU
  result one unit off changes an outcome only when the uniform falls within that unit of the threshold
  (probability ~1e-16 per comparison). Rewards never pass through them, so the sums follow the paths.
  ``_ipow`` repeats numba's exponentiation by squaring for float ** int (the CPU's ``q**n``).

One thread simulates one individual of one parameter set, strategy after strategy, accumulating the point
and transition rewards as it goes (no stored path: any horizon fits). Its totals are turned into the CPU
kernel's exact fixed-point limbs (int64), summed over the block in shared memory (integer sums: any order
gives the same bits) and added to global memory with one integer atomic per block and accumulator. Per-cycle
outputs of kept samples use integer atomics directly.
"""

from __future__ import annotations

import math
import os

from numba import config, cuda, float64, int64, uint64

from heecon.engine.microsim.fixedpoint import FX_SCALE, SHIFT_SQ
from heecon.engine.microsim.step import POISSON_PIECE, POW_MAX
from heecon.engine.microsim.rng import (
    KIND_ENG_ATTEND,
    KIND_ENG_DROPOUT,
    KIND_ENG_PROPENSITY,
    KIND_EVENT_COUNT,
    KIND_EVENT_MOVE,
)

SIMULATOR = bool(getattr(config, "ENABLE_CUDASIM", 0)) or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
_SQ_SCALE = 2.0**-SHIFT_SQ

# flags and sizes in the kernel's cfg array
CFG_HAS_TR, CFG_HAS_TRCOV, CFG_HAS_TRCOUNT, CFG_HAS_EVENTS, CFG_HAS_EVCOV, CFG_HAS_ENG = range(6)
CFG_BRANCHLESS, CFG_HAS_START, CFG_HAS_PROP, CFG_S, CFG_R, CFG_E, CFG_K, CFG_A, CFG_NKEEP, CFG_NTRAJ = range(6, 16)
CFG_MOMENTS = 16  # accumulate squares and squared increments (else those limbs stay 0, as on the CPU)
CFG_LEN = 17

if SIMULATOR:
    @cuda.jit(device=True)
    def _mul(a, b):
        """a * b (in the simulator: Python's correctly rounded product, as on the CPU)."""
        return a * b
else:
    from numba.cuda import libdevice

    @cuda.jit(device=True, inline=True)
    def _mul(a, b):
        """a * b rounded on its own (never fused with a following addition)."""
        return libdevice.dmul_rn(a, b)


# ---------------------------------------------------------------------------
# The counter-based generator (heecon.engine.microsim.rng)
# ---------------------------------------------------------------------------


@cuda.jit(device=True, inline=True)
def _mix64(z):
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


@cuda.jit(device=True, inline=True)
def _to_uniform(bits):
    return _mul(float64(bits >> uint64(11)), 1.0 / 9007199254740992.0)


@cuda.jit(device=True)
def _uniform(k_ind, cycle, kind, index):
    """rng.uniform: the uniform of counter (cycle, kind, index) of the individual with key k_ind."""
    pack = (uint64(cycle) << uint64(32)) | (uint64(kind) << uint64(26)) | uint64(index)
    return _to_uniform(_mix64(k_ind + _mix64(pack + uint64(0xA54FF53A5F1D36F1))))


# ---------------------------------------------------------------------------
# Samplers (microsim._poisson_inv, _poisson, _binomial_inv, _gamma_draw, _beta_draw)
# ---------------------------------------------------------------------------


@cuda.jit(device=True)
def _poisson_inv(lam, u):
    if u < 1.0 - lam:
        return 0
    p = math.exp(-lam)
    f = p
    n = 0
    while u >= f and n < 1000:
        n += 1
        p = _mul(p, lam / n)
        f += p
    return n


@cuda.jit(device=True)
def _poisson(lam, u_first, k_ind, cycle, e, n_ev):
    if lam <= POISSON_PIECE:
        return _poisson_inv(lam, u_first)
    pieces = int(math.ceil(lam / POISSON_PIECE))
    part = lam / pieces
    n = _poisson_inv(part, u_first)
    for q in range(1, pieces):
        n += _poisson_inv(part, _uniform(k_ind, cycle, KIND_EVENT_COUNT, e + n_ev * q))
    return n


@cuda.jit(device=True)
def _ipow(a, b):
    """a ** b for an integer b >= 0 as numba computes it on the CPU (squaring; pow() beyond 65,536)."""
    if b > 0x10000:
        return math.pow(a, float64(b))
    r = 1.0
    x = a
    ex = b
    while ex != 0:
        if ex & 1:
            r = _mul(r, x)
        ex >>= 1
        x = _mul(x, x)
    return r


@cuda.jit(device=True)
def _binomial_inv(n, p, u):
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    q = 1.0 - p
    pmf = _ipow(q, n)
    f = pmf
    x = 0
    ratio = p / q
    while u >= f and x < n:
        pmf = _mul(pmf, (n - x) / (x + 1.0) * ratio)
        x += 1
        f += pmf
    return x


@cuda.jit(device=True)
def _gamma_draw(k_ind, shape, base):
    a = shape
    boost = 1.0
    if a < 1.0:
        boost = _uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + (1 << 20)) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(_mul(9.0, d))
    for t in range(300000):
        u1 = _uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t)
        u2 = _uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t + 1)
        u3 = _uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t + 2)
        z = _mul(math.sqrt(-2.0 * math.log(1.0 - u1)), math.cos(_mul(2.0 * math.pi, u2)))
        v = 1.0 + _mul(c, z)
        if v <= 0.0:
            continue
        v = _mul(_mul(v, v), v)
        if math.log(1.0 - u3) < _mul(0.5 * z, z) + d - _mul(d, v) + _mul(d, math.log(v)):
            return _mul(_mul(d, v), boost)
    return _mul(d, boost)


@cuda.jit(device=True)
def _beta_draw(k_ind, a, b):
    x = _gamma_draw(k_ind, a, 0)
    y = _gamma_draw(k_ind, b, 1 << 21)
    if x + y <= 0.0:
        return a / (a + b)
    return x / (x + y)


# ---------------------------------------------------------------------------
# Moves: the stored row (microsim._walk) and with covariates (microsim._cov_row_cum, drawn at once)
# ---------------------------------------------------------------------------


@cuda.jit(device=True, inline=True)
def _walk(PP, ip, m, cur, u, S, branchless):
    """The first j with u < cumulative row PP[ip, 0, m, cur, j] (a branch-free count for few states)."""
    j = 0
    if branchless:
        for x in range(S):
            j += u >= PP[ip, 0, m, cur, x]
    else:
        while u >= PP[ip, 0, m, cur, j]:
            j += 1
    return j


@cuda.jit(device=True)
def _cov_row_draw(PP, ip, m, cur, X, i, A, betas, ib, gammas, ig, cnt, K, logtis, tis, comp, u, prow, S,
                  branchless):
    """The drawn move from `cur` under the individual's hazard ratios; PP[ip] holds (cumulative, stored,
    log1p(-stored)) rows, logtis the log time-in-state multipliers (0 where the multiplier is 1)."""
    L = logtis.shape[2]
    ti = tis if tis < L - 1 else L - 1
    modified = False
    for j in range(S):
        lin = 0.0
        for a in range(A):
            lin += _mul(betas[ib, cur, j, a], X[i, a])
        for c in range(K):
            lin += _mul(gammas[ig, cur, j, c], cnt[c])
        lt = logtis[cur, j, ti]
        if lt != 0.0:
            lin += lt
        p = PP[ip, 1, m, cur, j]
        if lin != 0.0 and j != comp:
            modified = True
            hr = math.exp(lin)
            if hr == 0.0 or p <= 0.0:
                p = 0.0
            elif p < 1.0:
                p = -math.expm1(_mul(hr, PP[ip, 2, m, cur, j]))
        prow[j] = p
    if not modified:
        return _walk(PP, ip, m, cur, u, S, branchless)
    if comp >= 0:
        off = 0.0
        for j in range(S):
            if j != comp:
                off += prow[j]
        if off > 1.0:
            for j in range(S):
                prow[j] /= off
            prow[comp] = 0.0
        else:
            prow[comp] = 1.0 - off
    else:
        tot = 0.0
        for j in range(S):
            tot += prow[j]
        if tot > 0.0:
            for j in range(S):
                prow[j] /= tot
    acc = 0.0
    last = -1
    for j in range(S):
        acc += prow[j]
        if prow[j] > 0.0:
            last = j
            if u < acc:
                return j
    return last if last >= 0 else cur


# ---------------------------------------------------------------------------
# The kernel
# ---------------------------------------------------------------------------


def build_kernel(tpb: int, chunk: int, mq: int, me: int, mk: int, ms: int):
    """The general kernel for blocks of ``tpb`` threads, reducing ``chunk`` accumulators at a time, with
    per-thread arrays for up to ``mq`` reward columns x 2, ``me`` event types, ``mk`` counters and ``ms``
    states (compile-time sizes of CUDA local memory)."""
    TPB = int(tpb)
    CH = int(chunk)
    LD = CH + 1  # padded row of the shared reduction buffer (fewer bank conflicts)
    NSH = TPB * LD
    MQ, ME, MK, MS = int(mq), int(me), int(mk), int(ms)

    @cuda.jit
    def kernel(k_seed, sample_offset, batch_lo, ind_offset, i_lo, n_ind, c_start, cfg, PP, maps, G, scum,
               start_state, consts, TR, W, V, X, betas, gammas, logtis, tr_counter, stint, ev_rate, ev_int, ev_beta,
               ev_gamma, egam, ev_rr, ev_reward, ev_counter, ev_move, strat_int, eng_sessions, eng_drop, eng_ab,
               eng_prop, eng_cost, acc, p_occ, p_cr, p_ce, traj):
        """acc[sample of the batch, strategy * (6Q + E) + slot] += the block's exact integer sums; see build_kernel."""
        tid = cuda.threadIdx.x
        smp = cuda.blockIdx.y
        sc = batch_lo + smp  # the sample's index within the call (kept samples, trajectories)
        i = i_lo + cuda.blockIdx.x * TPB + tid
        active = i < n_ind
        red = cuda.shared.array(NSH, int64)
        a_pt = cuda.local.array(MQ, float64)  # point rewards summed along the path
        a_tr = cuda.local.array(MQ, float64)  # transition rewards
        extra = cuda.local.array(MQ, float64)  # event and engagement rewards
        tot = cuda.local.array(MQ, float64)
        tot0 = cuda.local.array(MQ, float64)  # strategy 0's totals (squared increments)
        cnt = cuda.local.array(MK, float64)
        dcnt = cuda.local.array(MK, float64)
        ev_hr = cuda.local.array(ME, float64)
        hx0 = cuda.local.array(ME, float64)
        ue = cuda.local.array(ME, float64)
        nev = cuda.local.array(ME, int64)
        occurred = cuda.local.array(ME, int64)
        evn = cuda.local.array(ME, int64)
        prow = cuda.local.array(MS, float64)

        has_tr = cfg[CFG_HAS_TR] != 0
        has_trcov = cfg[CFG_HAS_TRCOV] != 0
        has_trcount = cfg[CFG_HAS_TRCOUNT] != 0
        has_events = cfg[CFG_HAS_EVENTS] != 0
        has_evcov = cfg[CFG_HAS_EVCOV] != 0
        has_eng = cfg[CFG_HAS_ENG] != 0
        branchless = cfg[CFG_BRANCHLESS] != 0
        moments = cfg[CFG_MOMENTS] != 0
        S = cfg[CFG_S]
        R = cfg[CFG_R]
        E = cfg[CFG_E]
        K = cfg[CFG_K]
        A = cfg[CFG_A]
        Q = 2 * R
        nsl = 6 * Q + E
        n_strat = maps.shape[1]
        T = maps.shape[2]
        keep = sc < cfg[CFG_NKEEP]
        tr_out = sc == 0 and i < cfg[CFG_NTRAJ]
        # per-sample tables: the batch's own row, or the one shared by all samples
        ip = smp if PP.shape[0] > 1 else 0
        ig_ = smp if G.shape[0] > 1 else 0
        im = smp if scum.shape[0] > 1 else 0
        itr = smp if TR.shape[0] > 1 else 0
        iv = smp if V.shape[0] > 1 else 0
        ib = smp if betas.shape[0] > 1 else 0
        igt = smp if gammas.shape[0] > 1 else 0
        ier = smp if ev_rate.shape[0] > 1 else 0
        ieb = smp if ev_beta.shape[0] > 1 else 0
        ieg = smp if ev_gamma.shape[0] > 1 else 0
        irr = smp if ev_rr.shape[0] > 1 else 0
        iew = smp if ev_reward.shape[0] > 1 else 0
        iem = smp if ev_move.shape[0] > 1 else 0
        ixd = smp if eng_drop.shape[0] > 1 else 0
        ixab = smp if eng_ab.shape[0] > 1 else 0
        ixc = smp if eng_cost.shape[0] > 1 else 0

        k_samp = _mix64(k_seed + _mix64(uint64(sample_offset + smp) + uint64(0xBB67AE8584CAA73B)))
        k_ind = _mix64(k_samp + _mix64(uint64(ind_offset + i) + uint64(0x3C6EF372FE94F82B)))
        u0 = _to_uniform(_mix64(k_ind + c_start))
        if active and has_evcov:
            for e in range(E):
                lx = 0.0
                for a in range(A):
                    lx += _mul(ev_beta[ieb, e, a], X[i, a])
                hx0[e] = math.exp(lx) if lx != 0.0 else 1.0

        for s in range(n_strat):
            if active:
                for q in range(Q):
                    a_pt[q] = 0.0
                    a_tr[q] = 0.0
                    extra[q] = 0.0
                for c in range(K):
                    cnt[c] = 0.0
                for e in range(E):
                    evn[e] = 0
                    ev_hr[e] = hx0[e] if has_evcov else 1.0
                # the starting state: the given one, or the shared uniform walked along the strategy's row
                cur = 0
                if cfg[CFG_HAS_START] != 0:
                    cur = start_state[i]
                else:
                    while u0 >= scum[im, s, cur]:
                        cur += 1
                for q in range(Q):
                    a_pt[q] += G[ig_, s, 0, cur, q]
                if keep:
                    cuda.atomic.add(p_occ, (sc, s, 0, cur), 1)
                if tr_out:
                    traj[i, s, 0] = cur
                tis = 0
                eng_on = strat_int[0, s] != 0
                dose_mode = strat_int[1, s] == 1
                enrolled = eng_on
                cum_att = 0.0
                cum_off = 0.0
                prop = 0.0
                if has_eng and eng_on:
                    if cfg[CFG_HAS_PROP] != 0:
                        prop = eng_prop[i]
                    else:
                        prop = _beta_draw(k_ind, eng_ab[ixab, s, 0], eng_ab[ixab, s, 1])
                for k in range(1, T + 1):
                    u = _to_uniform(_mix64(k_ind + consts[k, 0]))
                    m = maps[0, s, k - 1]
                    # 1. the drawn move
                    if has_trcov and stint[0, cur] != 0:
                        j = _cov_row_draw(PP, ip, m, cur, X, i, A, betas, ib, gammas, igt, cnt, K, logtis, tis,
                                          stint[1, cur], u, prow, S, branchless)
                    else:
                        j = _walk(PP, ip, m, cur, u, S, branchless)
                    # 2. treatment engagement: dropout, then sessions attended; dose
                    attended = 0.0
                    place = False
                    dose = 0.0
                    if has_eng and eng_on:
                        off = eng_sessions[s, k - 1]
                        if off > 0.0 and stint[3, cur] != 0:
                            cum_off += off
                            if enrolled:
                                pd = eng_drop[ixd, s]
                                if pd > 0.0 and _uniform(k_ind, k, KIND_ENG_DROPOUT, 0) < pd:
                                    enrolled = False
                            if enrolled:
                                place = True
                                whole = math.floor(off)
                                attended = float64(_binomial_inv(int64(whole), prop,
                                                                 _uniform(k_ind, k, KIND_ENG_ATTEND, 0)))
                                frac = off - whole
                                if frac > 0.0 and _uniform(k_ind, k, KIND_ENG_ATTEND, 1) < prop * frac:
                                    attended += 1.0
                                cum_att += attended
                        if cum_off > 0.0:
                            dose = cum_att / cum_off
                    # 3. events, by the state at point k-1 and the counters at the start of the cycle
                    n_occ = 0
                    if has_events:
                        me_ = maps[3, s, k - 1]
                        for e in range(E):
                            n = 0
                            rate = ev_rate[ier, me_, cur, e]
                            if rate > 0.0:
                                rr = ev_rr[irr, s, k - 1, e]
                                if dose_mode:
                                    rr = 1.0 - _mul(1.0 - rr, dose)
                                lam = _mul(rate, rr)
                                if has_evcov:
                                    lam = _mul(lam, ev_hr[e])
                                if lam > 0.0:
                                    ue[e] = _to_uniform(_mix64(k_ind + consts[k, 1 + e]))
                                    if ev_int[0, e] == 0:
                                        if ue[e] >= 1.0 - lam:
                                            n = _poisson(lam, ue[e], k_ind, k, e, E)
                                    elif ue[e] < lam - _mul(0.5 * lam, lam) or (ue[e] < lam
                                                                              and ue[e] < -math.expm1(-lam)):
                                        n = 1
                            nev[e] = n
                            if n > 0:
                                occurred[n_occ] = e
                                n_occ += 1
                        # event-driven moves: the lowest event index wins; kept destinations beat them all
                        if stint[2, j] == 0:
                            for o in range(n_occ):
                                e = occurred[o]
                                dest = ev_int[1, e]
                                if dest >= 0:
                                    pm = ev_move[iem, 0, e]
                                    if pm >= 1.0:
                                        hit = True
                                    elif pm <= 0.0:
                                        hit = False
                                    else:
                                        hit = _uniform(k_ind, k, KIND_EVENT_MOVE, e) < -math.expm1(
                                            _mul(float64(nev[e]), ev_move[iem, 1, e]))
                                    if hit:
                                        j = dest
                                        break
                    # 4. time in state, counters
                    if j == cur:
                        tis += 1
                    else:
                        tis = 0
                    if n_occ > 0 or has_trcount:
                        for c in range(K):
                            dcnt[c] = 0.0
                        for o in range(n_occ):
                            e = occurred[o]
                            evn[e] += nev[e]
                            for c in range(K):
                                dcnt[c] += _mul(float64(nev[e]), ev_counter[e, c])
                        if has_trcount:
                            for c in range(K):
                                dcnt[c] += tr_counter[cur, j, c]
                        for c in range(K):
                            d = dcnt[c]
                            if d != 0.0:
                                cnt[c] += d
                                if has_evcov:
                                    di = int64(d) if (d == math.floor(d) and 0.0 < d <= POW_MAX) else -1
                                    for e in range(E):
                                        g = ev_gamma[ieg, e, c]
                                        if g != 0.0:
                                            if di > 0:
                                                ev_hr[e] = _mul(ev_hr[e], egam[ieg, e, c, di])
                                            else:
                                                ev_hr[e] = _mul(ev_hr[e], math.exp(_mul(g, d)))
                    # 5. event and engagement rewards of cycle k (weight c_k); 6. per-cycle output
                    if n_occ > 0 or place or keep:
                        for r in range(R):
                            amt = 0.0
                            for o in range(n_occ):
                                e = occurred[o]
                                amt += _mul(float64(nev[e]), ev_reward[iew, e, r])
                            if place:
                                amt += _mul(attended, eng_cost[ixc, 0, s, r]) + eng_cost[ixc, 1, s, r]
                            if amt != 0.0:
                                extra[2 * r] += _mul(W[0, 2, r, k - 1], amt)
                                extra[2 * r + 1] += _mul(W[1, 2, r, k - 1], amt)
                            if keep:
                                mv = maps[1, s, k - 1]
                                cyc = _mul(W[0, 0, r, k - 1], V[iv, mv, cur, r]) + _mul(W[0, 1, r, k - 1],
                                                                                       V[iv, mv, j, r])
                                cyc += _mul(W[0, 2, r, k - 1], amt + TR[itr, maps[2, s, k - 1], cur, j, r])
                                fl = math.floor(cyc)
                                cuda.atomic.add(p_cr, (sc, s, k - 1, r, 0), int64(fl))
                                cuda.atomic.add(p_cr, (sc, s, k - 1, r, 1), int64(_mul(cyc - fl, FX_SCALE) + 0.5))
                    if keep:
                        cuda.atomic.add(p_occ, (sc, s, k, j), 1)
                        for o in range(n_occ):
                            e = occurred[o]
                            cuda.atomic.add(p_ce, (sc, s, k - 1, e), nev[e])
                    # the path's rewards, point k and the move of cycle k, in the CPU kernel's order
                    for q in range(Q):
                        a_pt[q] += G[ig_, s, k, j, q]
                    if has_tr:
                        mt = maps[2, s, k - 1]
                        for r in range(R):
                            trv = TR[itr, mt, cur, j, r]
                            a_tr[2 * r] += _mul(W[0, 2, r, k - 1], trv)
                            a_tr[2 * r + 1] += _mul(W[1, 2, r, k - 1], trv)
                    if tr_out:
                        traj[i, s, k] = j
                    cur = j
                # the individual's totals: point rewards, + transition rewards, + events and engagement
                for q in range(Q):
                    v = a_pt[q]
                    if has_tr:
                        v += a_tr[q]
                    v += extra[q]
                    tot[q] = v
                    if s == 0:
                        tot0[q] = v
            # exact sums over the block: fixed-point limbs (as heecon.engine.microsim.fixedpoint.fx_add), CH at a time
            for c0 in range(0, nsl, CH):
                for z in range(CH):
                    sl = c0 + z
                    val = int64(0)
                    if active and sl < nsl:
                        if sl < 6 * Q:
                            q = sl // 6
                            kind = (sl % 6) // 2
                            v = tot[q]
                            w = v
                            if kind == 1:
                                w = _mul(_mul(v, v), _SQ_SCALE) if moments else 0.0
                            elif kind == 2:
                                w = 0.0
                                if s > 0 and moments:
                                    dv = v - tot0[q]
                                    w = _mul(_mul(dv, dv), _SQ_SCALE)
                            fl = math.floor(w)
                            if sl % 2 == 0:
                                val = int64(fl)
                            else:
                                val = int64(_mul(w - fl, FX_SCALE) + 0.5)
                        else:
                            val = evn[sl - 6 * Q]
                    red[tid * LD + z] = val
                cuda.syncthreads()
                for z in range(tid, CH, TPB):  # thread z adds up slot z over the block (CH may exceed TPB)
                    if c0 + z < nsl:
                        part = int64(0)
                        for t in range(TPB):
                            part += red[t * LD + z]
                        if part != 0:
                            cuda.atomic.add(acc, (smp, s * nsl + c0 + z), part)
                cuda.syncthreads()

    return kernel
