"""The per-person step of the microsimulation: one source, compiled for the CPU (numba ``njit``) and for CUDA.

Every function here is ordinary numba CPU code that takes scalars and preallocated arrays and allocates nothing.
:mod:`heecon.engine.microsim.twin` compiles the same Python source as CUDA device functions (the GPU kernels of
:mod:`heecon.engine.microsim.gpu` call those twins), so the CPU and the GPU run one definition of each sampler and
of each step of a cycle (docs/microsim-kernel.md, "Steps of cycle k"):

* samplers: :func:`poisson_inv`, :func:`poisson`, :func:`binomial_inv` (and its table form :func:`binomial_cdf`,
  :func:`binomial_from_cdf`), :func:`gamma_draw`, :func:`beta_draw`, :func:`ipow` (numba's ``float ** int``);
* moves: :func:`walk` (the stored row), :func:`linear_predictor`, :func:`cov_row` (a row under the individual's
  hazard ratios, with :func:`complete_row`) and :func:`draw_from_row`;
* the steps of a cycle: :func:`engagement`, :func:`event_counts`, :func:`event_move`, :func:`update_counters`,
  :func:`reward_amount`, :func:`book_extra`, :func:`cycle_value`.

**The mul() rule.** Every floating-point product that feeds an addition is written ``mul(a, b)``. On the CPU
``mul`` is an inlined ``a * b`` (the same ``fmul`` as a plain product: numba does not contract without fastmath, so
the CPU bits are those of the plain expression). On a GPU it is libdevice's ``dmul_rn``, a product rounded on its
own: libNVVM fuses ``a * b + c`` into one multiply-add by default, which rounds once where the CPU rounds twice.
tests/test_step_lint.py checks the rule on this file's source; integer arithmetic on a line marked ``# integer``
(counter indices) is exempt.

**Arrays and slots.** Functions take whole arrays plus indices, never views made in the hot loop (an array view
costs reference counting on the CPU). Per-strategy state is indexed by a *slot*: the CPU keeps one row per strategy
(slot = strategy), the GPU, which runs the strategies one after the other, one row (slot 0). Sizes that a GPU array
would misstate (its per-thread arrays have compile-time lengths, and zero-length arrays are padded: states S of a
row, attributes A, counters K, event types E) are passed explicitly.

**Who calls what.** The GPU kernels call every function here (through their twins). The CPU's general block calls
the samplers and the tables; the moves (walk, cov_row with complete_row, draw_from_row) and steps 2-5 (engagement
... cycle_value) are written out in cpu._block_general with the same operations, because calling them there with
their array arguments costs numba's reference counting in the hot loop (measured: the flagship PSA 1.3-2 times
slower; the covariate row alone took 18% of its profile samples). The cudasim tests (tests/test_gpu_general.py) check bit for
bit that the two agree.
"""

from __future__ import annotations

import math

import numba
from numba import uint64

from heecon.engine.microsim.rng import KIND_ENG_PROPENSITY, KIND_EVENT_COUNT, bits_to_uniform, draw_bits, uniform

#: Poisson counts with a mean above this are drawn as a sum of independent
#: pieces of mean <= POISSON_PIECE (exact in distribution; one uniform each).
POISSON_PIECE = 30.0
#: Counter steps up to this size use tabulated rate-ratio factors exp(gamma * d) (tables.gamma_steps).
POW_MAX = 16
#: Columns of the per-cycle constants of the draws (tables.draw_constants): transition, dropout, attendance
#: (two), then event counts (C_EVENT + e) and event moves (C_EVENT + E + e).
C_TRANSITION, C_DROPOUT, C_ATTEND, C_EVENT = 0, 1, 2, 4

#: The functions twin.py compiles for CUDA (with mul replaced by the GPU's product).
SHARED = ("ipow", "poisson_inv", "poisson", "binomial_inv", "binomial_cdf", "binomial_from_cdf", "gamma_draw",
          "beta_draw", "draw", "walk", "draw_from_row", "complete_row", "linear_predictor", "cov_row", "engagement",
          "event_counts", "event_move", "update_counters", "reward_amount", "book_extra", "cycle_value")


@numba.njit(inline="always", cache=True)
def mul(a, b):
    """a * b, never fused with an addition (the product of the CPU; on a GPU twin.py swaps in dmul_rn)."""
    return a * b


# ---------------------------------------------------------------------------
# Samplers (each a pure function of its uniforms)
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def ipow(a, b):
    """a ** b for an integer b >= 0, as numba computes float ** int on the CPU (squaring; pow() beyond 65,536)."""
    if b > 0x10000:
        return math.pow(a, float(b))
    r = 1.0
    x = a
    ex = b
    while ex != 0:
        if ex & 1:
            r = mul(r, x)
        ex >>= 1
        x = mul(x, x)
    return r


# poisson_inv and poisson are inlined into the kernel: as out-of-line calls the flagship kernel's time varied from
# one compiled copy to another by up to 1.8x (the same source: 0.76-1.28 s for one thread's 20 x 10,000 chunk), and
# inlined it is 0.69-0.74 s in every copy and process tried (December 2026; the same bits).
@numba.njit(inline="always", cache=True)
def poisson_inv(lam, u):
    """Poisson(lam) by inversion with one uniform (lam <= POISSON_PIECE).

    The count is the first n with u < F(n). As exp(-lam) >= 1 - lam, u < 1 - lam
    already means n = 0, and the exponential is needed only otherwise.
    """
    if u < 1.0 - lam:
        return 0
    p = math.exp(-lam)
    f = p
    n = 0
    while u >= f and n < 1000:
        n += 1
        p = mul(p, lam / n)
        f += p
    return n


@numba.njit(inline="always", cache=True)
def poisson(lam, u_first, k_ind, cycle, e, n_ev):
    """Poisson(lam): one uniform per piece of mean <= POISSON_PIECE (index e + n_ev * piece).

    ``u_first`` is the uniform of piece 0, ``uniform(k_ind, cycle, KIND_EVENT_COUNT, e)``.
    """
    if lam <= POISSON_PIECE:
        return poisson_inv(lam, u_first)
    pieces = int(math.ceil(lam / POISSON_PIECE))
    part = lam / pieces
    n = poisson_inv(part, u_first)
    for q in range(1, pieces):
        n += poisson_inv(part, uniform(k_ind, cycle, KIND_EVENT_COUNT, e + n_ev * q))  # integer
    return n


@numba.njit(cache=True)
def binomial_inv(n, p, u):
    """Binomial(n, p) by inversion with one uniform."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    q = 1.0 - p
    pmf = ipow(q, n)
    f = pmf
    x = 0
    ratio = p / q
    while u >= f and x < n:
        pmf = mul(pmf, mul((n - x) / (x + 1.0), ratio))
        x += 1
        f += pmf
    return x


@numba.njit(cache=True)
def binomial_cdf(n, p, out, row):
    """out[row, x] = F(x) for x = 0..n-1 as binomial_inv accumulates it (the same operations, so the same bits)."""
    q = 1.0 - p
    pmf = ipow(q, n)
    f = pmf
    ratio = p / q
    for x in range(n):
        out[row, x] = f
        pmf = mul(pmf, mul((n - x) / (x + 1.0), ratio))
        f += pmf


@numba.njit(inline="always", cache=True)
def binomial_from_cdf(n, p, u, cdf, row):
    """binomial_inv(n, p, u) from a table of binomial_cdf(n, p) in cdf[row] (for a person's repeated draws)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    for x in range(n):
        if u < cdf[row, x]:
            return x
    return n


@numba.njit(cache=True)
def gamma_draw(k_ind, shape, base):
    """Gamma(shape, 1) by Marsaglia & Tsang (2000) with counter uniforms.

    Attempt t uses KIND_ENG_PROPENSITY indices base + 3t, +1, +2; shapes below
    one use the boost Gamma(a) = Gamma(a + 1) U**(1/a) with index base + 2**20.
    """
    a = shape
    boost = 1.0
    if a < 1.0:
        boost = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + (1 << 20)) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(mul(9.0, d))
    for t in range(300000):
        u1 = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t)  # integer
        u2 = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t + 1)  # integer
        u3 = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t + 2)  # integer
        z = mul(math.sqrt(mul(-2.0, math.log(1.0 - u1))), math.cos(mul(mul(2.0, math.pi), u2)))
        v = 1.0 + mul(c, z)
        if v <= 0.0:
            continue
        v = mul(mul(v, v), v)
        if math.log(1.0 - u3) < mul(mul(0.5, z), z) + d - mul(d, v) + mul(d, math.log(v)):
            return mul(mul(d, v), boost)
    return mul(d, boost)


@numba.njit(cache=True)
def beta_draw(k_ind, a, b):
    """Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (index bases 0 and 2**21)."""
    x = gamma_draw(k_ind, a, 0)
    y = gamma_draw(k_ind, b, 1 << 21)
    if x + y <= 0.0:
        return a / (a + b)
    return x / (x + y)


@numba.njit(inline="always", cache=True)
def draw(k_ind, consts, k, col):
    """The uniform of cycle k whose counter constant is consts[k, col] (tables.draw_constants)."""
    return bits_to_uniform(draw_bits(k_ind, consts[k, col]))


# ---------------------------------------------------------------------------
# 1. Moves
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def walk(cum, m, row, u, branchless):
    """First j with u < cum[m, row, j] (cum is nondecreasing, 2.0 from the last positive entry on).

    For few states the count of entries <= u is taken without branches (the same j).
    """
    mu = uint64(m)  # unsigned indices skip numba's negative-index wraparound
    ru = uint64(row)
    j = 0
    if branchless:
        for x in range(cum.shape[2]):
            j += u >= cum[mu, ru, x]
        return j
    while u >= cum[mu, ru, j]:
        j += 1
    return j


@numba.njit(inline="always", cache=True)
def draw_from_row(cum, rs, fb, u, S):
    """The move for a uniform u from running sums cum[rs, :S] built by cov_row: the first x with u < cum[rs, x],
    else the fallback fb."""
    for x in range(S):
        if u < cum[rs, x]:
            return x
    return fb


@numba.njit(inline="always", cache=True)
def complete_row(prow, comp, S):
    """Give the complement column comp what the other entries of prow[:S] leave (scaling them to 1 if they sum
    above it, comp then 0); comp = -1 renormalises the whole row."""
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


@numba.njit(inline="always", cache=True)
def linear_predictor(coef, row, col, X, i, A):
    """coef[row, col] . X[i] over the A attributes, summed in attribute order (beta . x of a covariate: a move's
    beta_tr[cur, j], or an event's ev_beta[sample, e])."""
    lin = 0.0
    for a in range(A):
        lin += mul(coef[row, col, a], X[i, a])
    return lin


@numba.njit(inline="always", cache=True)
def cov_row(P, Lp, m, cur, linx, hrx, lr, dyn, cnt, cs, tis_s, gammas, logtis, K, comp, prow, cum, rs):
    """Row `cur` of matrix m with the individual's hazard ratios, as running sums to draw from; see
    docs/microsim-kernel.md.

    p'_j = 1 - (1 - p_j)**HR_j with HR_j = exp(beta.x + gamma.counters) * tis[time in state];
    the complement column comp absorbs the difference (if the other entries sum above 1 they are scaled to 1
    and the complement gets 0); comp = -1 renormalises the row. beta.x comes precomputed in linx[lr] (and exp of
    it in hrx[lr] when the row is not dynamic, dyn False: then the counter and time-in-state terms are exactly 0);
    cnt[cs] holds the counters, Lp the log survival log1p(-p) of the stored rows, logtis the log time-in-state
    multipliers (tables.log1m_table, tables.log_table).

    Returns -2 when every HR_j is exactly 1 (the stored row applies, so an individual without effects moves
    exactly as on the fast path). Otherwise fills cum[rs, j] with the running sum of the row where p'_j > 0 (else
    -1, never drawn) and returns the fallback state (the last with positive probability, else cur): the move
    for a uniform u is draw_from_row(cum, rs, fallback, u, S).
    """
    S = P.shape[1]
    L = logtis.shape[2]
    ti = tis_s if tis_s < L - 1 else L - 1
    modified = False
    for j in range(S):
        lin = linx[lr, j]
        if dyn:
            for c in range(K):
                lin += mul(gammas[cur, j, c], cnt[cs, c])
            lt = logtis[cur, j, ti]
            if lt != 0.0:
                lin += lt
        p = P[m, cur, j]
        if lin != 0.0 and j != comp:
            modified = True
            if p <= 0.0:
                p = 0.0  # a move the stored row does not allow stays impossible (no hazard ratio needed)
            else:
                hr = math.exp(lin) if dyn else hrx[lr, j]
                if hr == 0.0:
                    p = 0.0
                elif p < 1.0:
                    p = -math.expm1(mul(hr, Lp[m, cur, j]))
        prow[j] = p
    if not modified:
        return -2
    complete_row(prow, comp, S)
    acc = 0.0
    last = -1
    for j in range(S):
        acc += prow[j]
        if prow[j] > 0.0:
            last = j
            cum[rs, j] = acc
        else:
            cum[rs, j] = -1.0
    return last if last >= 0 else cur


# ---------------------------------------------------------------------------
# 2. Treatment engagement
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def engagement(k_ind, k, s, cs, sessions, eligible, pdrop, prop, est, consts, use_cdf, bcdf, bn):
    """Step 2 of cycle k for strategy s (which has a programme): returns (sessions attended, enrolled this cycle,
    dose).

    In an eligible state (``eligible`` != 0) in a cycle with sessions offered, the offer is added to the
    cumulative offer; an enrolled person drops out with probability pdrop[s] (before this cycle's sessions); if
    still enrolled they attend Binomial(floor(n), prop) sessions plus one more with probability prop x frac(n).
    dose = cumulative attended / cumulative offered (0 before anything is offered). est[cs] = (enrolled 1/0,
    cumulative offer, cumulative attended). With ``use_cdf`` the attendance draw reads the person's CDF from
    bcdf[cs], rebuilt when the number of whole sessions bn[cs] changes (the CPU's cache; the same bits).
    """
    attended = 0.0
    place = False
    dose = 0.0
    off = sessions[s, k - 1]
    if off > 0.0 and eligible != 0:
        est[cs, 1] += off
        if est[cs, 0] != 0.0:
            if pdrop[s] > 0.0 and draw(k_ind, consts, k, C_DROPOUT) < pdrop[s]:
                est[cs, 0] = 0.0
        if est[cs, 0] != 0.0:
            place = True
            whole = math.floor(off)
            nw = int(whole)
            ua = draw(k_ind, consts, k, C_ATTEND)
            if use_cdf:
                if bn[cs] != nw:
                    if 0 < nw and 0.0 < prop < 1.0:
                        binomial_cdf(nw, prop, bcdf, cs)
                    bn[cs] = nw
                attended = float(binomial_from_cdf(nw, prop, ua, bcdf, cs))
            else:
                attended = float(binomial_inv(nw, prop, ua))
            frac = off - whole
            if frac > 0.0 and draw(k_ind, consts, k, C_ATTEND + 1) < mul(prop, frac):
                attended += 1.0
            est[cs, 2] += attended
    if est[cs, 1] > 0.0:
        dose = est[cs, 2] / est[cs, 1]
    return attended, place, dose


# ---------------------------------------------------------------------------
# 3. Events and event-driven moves
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def event_counts(k_ind, k, s, cs, cur, me, evr, evrr, dose_mode, dose, has_evcov, ev_hr, ev_kind, consts, E,
                 ue, ue_k, nev, occurred):
    """Step 3 of cycle k for strategy s in state cur: the count of every event type into nev[e]; the types that
    occurred into occurred[:n], returns n.

    The rate evr[me, cur, e] x the strategy rate ratio evrr[s, k-1, e] (dose-scaled: 1 - (1 - rr) x dose) x
    exp(beta.x + gamma.counters) (ev_hr[cs, e], with has_evcov). Poisson counts by inversion, Bernoulli with
    p = 1 - exp(-rate). An event type's uniform is drawn when first needed in the cycle and kept in ue[e] (ue_k[e]
    is its cycle): it is a function of the counter, so strategies share it.
    """
    n_occ = 0
    for e in range(E):
        n = 0
        rate = evr[me, cur, e]
        if rate > 0.0:
            rr = evrr[s, k - 1, e]
            if dose_mode:
                rr = 1.0 - mul(1.0 - rr, dose)
            lam = mul(rate, rr)
            if has_evcov:
                lam = mul(lam, ev_hr[cs, e])
            if lam > 0.0:
                if ue_k[e] != k:
                    ue[e] = draw(k_ind, consts, k, C_EVENT + e)
                    ue_k[e] = k
                if ev_kind[e] == 0:
                    if ue[e] >= 1.0 - lam:  # else no occurrence (see poisson_inv)
                        n = poisson(lam, ue[e], k_ind, k, e, E)
                elif ue[e] < lam - mul(mul(0.5, lam), lam) or (ue[e] < lam and ue[e] < -math.expm1(-lam)):
                    n = 1  # 1 - exp(-lam) lies in [lam - lam^2/2, lam]
        nev[e] = n
        if n > 0:
            occurred[n_occ] = e
            n_occ += 1
    return n_occ


@numba.njit(inline="always", cache=True)
def event_move(k_ind, k, j, n_occ, occurred, nev, ev_move_state, evm, consts, E):
    """The destination after event-driven moves: for the event types that occurred with a destination, in
    increasing event index, the person moves with probability 1 - (1 - p)**count; the first that fires wins
    (else the drawn move j stays). evm = tables.move_table of one sample (p, log1p(-p), the probability after
    one occurrence). The caller skips this when the drawn destination is kept (death)."""
    for o in range(n_occ):
        e = occurred[o]
        dest = ev_move_state[e]
        if dest >= 0:
            pm = evm[0, e]
            if pm >= 1.0:
                hit = True
            elif pm <= 0.0:
                hit = False
            else:
                um = draw(k_ind, consts, k, C_EVENT + E + e)
                hit = um < (evm[2, e] if nev[e] == 1 else -math.expm1(mul(float(nev[e]), evm[1, e])))
            if hit:
                return dest
    return j


# ---------------------------------------------------------------------------
# 4. Counters; 5. rewards of the cycle
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def update_counters(cs, cur, j, n_occ, occurred, nev, evc, es, ev_counter, has_trcount, tr_counter, K, cnt, dcnt,
                    has_evcov, evg, egam, ev_hr, E):
    """Step 4: the occurrences into the event counts evc[es], the counters cnt[cs] (+ ev_counter per occurrence,
    + tr_counter of the move cur -> j) and the event rate ratios ev_hr[cs], which follow the counters
    multiplicatively: by exp(gamma * d) for a step of d (egam, tabulated for whole steps up to POW_MAX)."""
    for c in range(K):
        dcnt[c] = 0.0
    for o in range(n_occ):
        e = occurred[o]
        evc[es, e] += nev[e]
        for c in range(K):
            dcnt[c] += mul(float(nev[e]), ev_counter[e, c])
    if has_trcount:
        for c in range(K):
            dcnt[c] += tr_counter[cur, j, c]
    for c in range(K):
        d = dcnt[c]
        if d != 0.0:
            cnt[cs, c] += d
            if has_evcov:
                di = int(d) if (d == math.floor(d) and 0.0 < d <= POW_MAX) else -1
                for e in range(E):
                    g = evg[e, c]
                    if g != 0.0:
                        ev_hr[cs, e] = mul(ev_hr[cs, e], egam[e, c, di] if di > 0 else math.exp(mul(g, d)))


@numba.njit(inline="always", cache=True)
def reward_amount(s, r, n_occ, occurred, nev, evw, place, attended, eng_cps, eng_cpp):
    """Step 5: the event and engagement amount of reward column r in this cycle (before the weight c_k)."""
    amt = 0.0
    for o in range(n_occ):
        amt += mul(float(nev[occurred[o]]), evw[occurred[o], r])
    if place:
        amt += mul(attended, eng_cps[s, r]) + eng_cpp[s, r]
    return amt


@numba.njit(inline="always", cache=True)
def book_extra(extra, cs, r, W, k, amt):
    """Add amt with the weights c_k (discounted, undiscounted) to extra[cs, 2r], extra[cs, 2r + 1]."""
    if amt != 0.0:
        extra[cs, 2 * r] += mul(W[0, 2, r, k - 1], amt)
        extra[cs, 2 * r + 1] += mul(W[1, 2, r, k - 1], amt)


@numba.njit(inline="always", cache=True)
def cycle_value(W, Vs, mv, cur, j, r, k, amt, tr):
    """The discounted reward of cycle k in column r for the move cur -> j (per-cycle output of kept samples):
    a_k V_k[cur] + b_k V_k[j] + c_k (event and engagement amount + transition reward tr)."""
    cyc = mul(W[0, 0, r, k - 1], Vs[mv, cur, r]) + mul(W[0, 1, r, k - 1], Vs[mv, j, r])
    cyc += mul(W[0, 2, r, k - 1], amt + tr)
    return cyc
