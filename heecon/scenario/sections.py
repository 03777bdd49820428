"""Readers of the scenario's sections: settings, parameters, tables, states, transitions, strategies, joints
and the price index. Each reports every problem at its key path and returns typed objects."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from heecon.scenario.expr import Expr, parse
from heecon.scenario.errors import did_you_mean, valid_list
from heecon.scenario.keys import EXTRA_COST_KEYS, MODIFIER_KEYS, NAME_RE, PARAM_KEYS, SETTINGS_KEYS, STATE_KEYS, STRATEGY_KEYS, STRATEGY_START_KEYS, TABLE_KEYS, TR_KEYS
from heecon.scenario.reader import Reader, existing_file, is_number_text, to_float
from heecon.scenario.types import (
    COUNTING_METHODS,
    DEFAULT_SECTORS,
    DISCOUNTING_METHODS,
    ENGINES,
    DiscountSchedule,
    ExtraCost,
    Modifier,
    Parameter,
    PriceIndex,
    Settings,
    State,
    Strategy,
    Table,
    TransitionReward,
)

def read_price_index(raw: Any, rd: Reader, params: Mapping[str, Parameter], settings: Settings,
                     named_raw: Any = None) -> tuple[PriceIndex | None, dict[str, PriceIndex]]:
    """``[price_index]`` (the default index) and ``[price_indices.NAME]`` (others a parameter can name with
    ``price_index = "NAME"``, e.g. the GDP deflator for justice costs beside the NHS index for health costs)."""
    col = rd.col
    named: dict[str, PriceIndex] = {}
    ntab = {}
    if named_raw is not None:
        ntab = rd.table(named_raw, "price_indices", "a table of [price_indices.NAME] sections") or {}
    for name, spec in ntab.items():
        idx = _read_one_index(spec, f"price_indices.{name}", rd, settings)
        if idx is not None:
            named[str(name)] = idx
    default = _read_one_index(raw, "price_index", rd, settings) if raw is not None else None
    for p in params.values():
        if p.price_year is None:
            continue
        key = f"{p.key}.price_index"
        if p.price_index is not None:
            if p.price_index not in named:
                col.unknown(key, p.price_index, named, "price index ([price_indices.NAME])")
                continue
            idx, where = named[p.price_index], f"[price_indices.{p.price_index}]"
        elif default is not None:
            idx, where = default, "[price_index]"
        elif raw is None:
            if settings.price_year is not None and p.price_year != settings.price_year:
                col.add(f"{p.key}.price_year", f"is {p.price_year} but settings.price_year is {settings.price_year}: "
                                               "give a [price_index] (years, values, source) to bring costs to one price year")
            continue
        else:
            continue  # the default index itself was malformed (reported)
        if p.price_year not in idx.years:
            col.add(f"{p.key}.price_year", f"{p.price_year} is not covered by {where} (years {min(idx.years)}-{max(idx.years)})")
    return default, named


def _read_one_index(raw: Any, key: str, rd: Reader, settings: Settings) -> PriceIndex | None:
    col = rd.col
    tab = rd.table(raw, key, "a table with name, source, years and values")
    if tab is None:
        return None
    rd.check_keys(tab, {"name", "source", "years", "values"}, key, f"[{key}]")
    years, values = tab.get("years"), tab.get("values")
    ok = (isinstance(years, list) and isinstance(values, list) and years and len(years) == len(values)
          and all(isinstance(y, int) and not isinstance(y, bool) for y in years)
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values))
    if not ok:
        col.add(key, "needs years = [whole years] and values = [positive index values] of the same length")
        return None
    if any(b <= a for a, b in zip(years, years[1:])):
        col.add(f"{key}.years", f"must increase, each year once; got {years!r}")
        return None
    if not isinstance(tab.get("source"), str) or not tab.get("source"):
        col.add(f"{key}.source", "every price index needs its source (publisher, table, year)")
    if settings.price_year is None:
        col.add("settings.price_year", f"is needed with a [{key}]: the year every cost is brought to")
    elif settings.price_year not in set(years):
        col.add("settings.price_year", f"{settings.price_year} is not covered by [{key}] (years {min(years)}-{max(years)})")
    return PriceIndex(str(tab.get("name", "price index")), str(tab.get("source", "")), tuple(years),
                      tuple(float(v) for v in values))


def read_joints(raw: Any, rd: Reader, params: Mapping[str, Parameter]) -> tuple[dict[str, dict[str, Any]],
                                                                              dict[str, Any]]:
    """The ``[joints.NAME]`` tables as written and as parsed joint distributions (checked against the marginals)."""
    from heecon.params import DistributionError, parse_joint, validate_joints

    tab = rd.table(raw, "joints", "a table of [joints.NAME] sections") or {}
    out: dict[str, dict[str, Any]] = {}
    objs: dict[str, Any] = {}
    if not tab:
        return out, objs
    parsed = []
    for name, spec in tab.items():
        key = f"joints.{name}"
        # members are checked as written, so that a problem elsewhere in the table does not hide an unknown one
        written = spec.get("members", list(spec.get("counts", {}) if isinstance(spec.get("counts"), dict) else []))
        written = written if isinstance(written, list) else []
        missing = [m for m in written if isinstance(m, str) and m not in params]
        for m in missing:
            rd.col.unknown(f"{key}.members", m, params, "parameter")
        for i, m in enumerate(written):
            if m in written[:i]:
                rd.col.add(f"{key}.members", f"lists parameter '{m}' twice; give each once")
        j = parse_reporting(lambda s: parse_joint(s, where=key), spec, key, rd, "joint distribution")
        if j is None:
            continue
        missing = [m for m in j.members if m not in params and m not in missing]
        for m in missing:
            rd.col.unknown(f"{key}.members", m, params, "parameter")
        if j.type in ("dirichlet", "mvnormal") and _origin(key, rd) != "--set" \
                and not any(k.startswith(f"{key}.") and v == "--set" for k, v in getattr(rd.col, "origins", {}).items()):
            for m in j.members:  # the joint draws these in the PSA: a new base-case value alone would contradict it
                if m in params and _origin(f"parameters.{m}.value", rd) == "--set":
                    rd.col.add(f"parameters.{m}.value", f"is set by --set, but the PSA draws {m} from the {j.type} "
                                                        f"distribution [{key}], which --set leaves as it is; give "
                                                        f"the joint distribution too (--set '{key}.…=…') so that the "
                                                        "base case and the PSA agree")
        if not missing and not any(m not in params for m in j.members):
            parsed.append(j)
            out[name] = spec
            objs[name] = j
    if parsed and not rd.col.problems:
        marg = {n: p.dist for n, p in params.items() if p.dist is not None}
        try:
            validate_joints(marg, parsed)
        except (DistributionError, ValueError) as exc:
            rd.col.add("joints", str(exc))
    return out, objs


def read_settings(s: dict[str, Any], rd: Reader) -> tuple[Settings, tuple[str, ...]]:
    col = rd.col
    rd.check_keys(s, SETTINGS_KEYS, "settings", "[settings]")
    st = Settings()
    if "engine" in s:
        st.engine = rd.string(s["engine"], "settings.engine", ENGINES) or st.engine
    if "cycle_length_months" in s:
        v = rd.number(s["cycle_length_months"], "settings.cycle_length_months", lo=0, lo_open=True, hi=1200)
        st.cycle_length_months = v if v is not None else st.cycle_length_months
    if "horizon_years" in s and "horizon_cycles" in s:
        col.add("settings.horizon_years", "give either horizon_years or horizon_cycles, not both")
    elif "horizon_cycles" in s:
        v = rd.number(s["horizon_cycles"], "settings.horizon_cycles", lo=1, hi=100000, integer=True)
        st.n_cycles = int(v) if v is not None else 1
    elif "horizon_years" in s:
        v = rd.number(s["horizon_years"], "settings.horizon_years", lo=0, lo_open=True, hi=1000)
        if v is not None:
            n = v / st.cycle_years
            if not n <= 100000:  # the limit of horizon_cycles (a tiny cycle length would make billions of cycles)
                col.add("settings.horizon_years", f"{v:g} years of {st.cycle_length_months:g}-month cycles is {n:.4g} "
                                                  "cycles; at most 100000 are allowed")
                n = 1
            elif abs(n - round(n)) > 1e-9:
                col.add("settings.horizon_years", f"{v:g} years is not a whole number of {st.cycle_length_months:g}-month "
                                                  f"cycles ({n:.4g}); use horizon_cycles or adjust the horizon")
            st.n_cycles = max(1, int(round(n)))
    else:
        col.add("settings", "the horizon is missing: give settings.horizon_years (e.g. 10) or settings.horizon_cycles")
        st.n_cycles = 1
    if "start_age" in s:
        st.start_age = rd.number(s["start_age"], "settings.start_age", lo=0, hi=130)
    if "counting" in s:
        st.counting = rd.string(s["counting"], "settings.counting", COUNTING_METHODS) or st.counting
    if "discounting" in s:
        st.discounting = rd.string(s["discounting"], "settings.discounting", DISCOUNTING_METHODS) or st.discounting
    if "discount_offset" in s:
        v = rd.number(s["discount_offset"], "settings.discount_offset", lo=-1000, hi=100000)
        st.discount_offset = v if v is not None else 0.0
    if "cohort_size" in s:
        v = rd.number(s["cohort_size"], "settings.cohort_size", lo=0, lo_open=True, hi=1e15)
        st.cohort_size = v if v is not None else 1.0
    for which in ("discount_costs", "discount_effects"):
        if which in s:
            sched = read_discount(s[which], f"settings.{which}", rd)
            if sched is not None:
                setattr(st, which, sched)
    if "wtp" in s:
        w = s["wtp"]
        if isinstance(w, (int, float)) and not isinstance(w, bool):
            w = [w]
        if not isinstance(w, list) or not w:
            col.add("settings.wtp", f"must be a list of willingness-to-pay thresholds, e.g. [20000, 30000]; got {w!r}")
        else:
            vals = [rd.number(x, f"settings.wtp[{i}]", lo=0) for i, x in enumerate(w)]
            dup = [i for i, v in enumerate(vals) if v is not None and v in vals[:i]]
            for i in dup:
                col.add(f"settings.wtp[{i}]", f"lists the threshold {vals[i]:g} twice; give each once")
            if all(v is not None for v in vals) and not dup:
                st.wtp = tuple(float(v) for v in vals)  # type: ignore[arg-type]
    if "comparator" in s:
        st.comparator = rd.string(s["comparator"], "settings.comparator") or ""
    if "currency" in s:
        st.currency = rd.string(s["currency"], "settings.currency") or st.currency
    if "price_year" in s:
        v = rd.number(s["price_year"], "settings.price_year", lo=1900, hi=2200, integer=True)
        st.price_year = int(v) if v is not None else None
    if "perspective" in s:
        st.perspective = rd.string(s["perspective"], "settings.perspective") or st.perspective
    if "seed" in s:
        v = rd.number(s["seed"], "settings.seed", lo=0, hi=2**63 - 1, integer=True)
        st.seed = int(v) if v is not None else st.seed
    if "psa_samples" in s:
        v = rd.number(s["psa_samples"], "settings.psa_samples", lo=0, hi=10_000_000, integer=True)
        st.psa_samples = int(v) if v is not None else 0
    if "averted_events" in s:
        ae = s["averted_events"]
        if not isinstance(ae, list) or not all(isinstance(x, str) for x in ae):
            col.add("settings.averted_events", "must be a list of event names, e.g. [\"offence_other\"]")
        else:
            for i, x in enumerate(ae):
                if x in ae[:i]:
                    col.add(f"settings.averted_events[{i}]", f"lists event '{x}' twice; give each once")
            st.averted_events = tuple(dict.fromkeys(ae))  # the names are checked against [events] once read
    if "report" in s:
        st.report = bool(rd.boolean(s["report"], "settings.report"))
    if "trajectories" in s:
        v = rd.number(s["trajectories"], "settings.trajectories", lo=0, hi=1e7, integer=True)
        st.trajectories = int(v) if v is not None else 0
    if "device" in s:
        st.device = rd.string(s["device"], "settings.device", ("cpu", "gpu", "auto")) or st.device
    if "averted_label" in s:
        st.averted_label = rd.string(s["averted_label"], "settings.averted_label") or st.averted_label
    if "population_size" in s:
        st.population_size = rd.number(s["population_size"], "settings.population_size", lo=0)
    if "evpi_years" in s:
        v = rd.number(s["evpi_years"], "settings.evpi_years", lo=1, hi=200, integer=True)
        st.evpi_years = int(v) if v is not None else st.evpi_years
    if "wtp_grid" in s:
        g = s["wtp_grid"]
        if (not isinstance(g, list) or len(g) != 3 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in g)
                or g[0] < 0 or g[1] <= g[0] or g[2] <= 0 or (g[1] - g[0]) / g[2] > 100000):
            col.add("settings.wtp_grid", f"must be [start, stop, step] with 0 <= start < stop and step > 0 "
                                         f"(at most 100,000 points), e.g. [0, 50000, 500]; got {g!r}")
        else:
            st.wtp_grid = (float(g[0]), float(g[1]), float(g[2]))
    if "individuals" in s:
        v = rd.number(s["individuals"], "settings.individuals", lo=1, hi=1e9, integer=True)
        st.individuals = int(v) if v is not None else st.individuals
    sectors: tuple[str, ...] = DEFAULT_SECTORS
    if "sectors" in s:
        secs = s["sectors"]
        if not isinstance(secs, list) or not secs or not all(isinstance(x, str) and NAME_RE.match(x) for x in secs):
            col.add("settings.sectors", f"must be a non-empty list of sector names (letters, digits, _), got {secs!r}")
        elif len(set(secs)) != len(secs):
            col.add("settings.sectors", "lists a sector twice")
        else:
            reserved = {"qalys", "lys", "total"} & set(secs)
            if reserved:
                col.add("settings.sectors", f"{sorted(reserved)} are outcome names, not cost sectors")
            else:
                sectors = tuple(secs)
    return st, sectors


def read_discount(v: Any, key: str, rd: Reader) -> DiscountSchedule | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        r = rd.number(v, key, lo=0, hi=1, hi_open=True)
        if r is None:
            return None
        if r >= 0.5:
            rd.col.add(key, f"must be a rate as a fraction in [0, 0.5), e.g. 0.035 for 3.5%; got {v!r}")
            return None
        return DiscountSchedule.constant(r)
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        froms, rates = [], []
        for i, band in enumerate(v):
            rd.check_keys(band, {"from_year", "rate"}, f"{key}[{i}]", "a discount band")
            f = rd.number(band.get("from_year"), f"{key}[{i}].from_year", lo=0)
            r = rd.number(band.get("rate"), f"{key}[{i}].rate", lo=0, hi=0.5, hi_open=True)
            if f is None or r is None:
                return None
            froms.append(f)
            rates.append(r)
        if froms[0] != 0 or any(b <= a for a, b in zip(froms, froms[1:])):
            rd.col.add(key, "the bands' from_year values must start at 0 and increase, e.g. "
                            "[{from_year = 0, rate = 0.035}, {from_year = 30, rate = 0.03}]")
            return None
        return DiscountSchedule(tuple(froms), tuple(rates))
    rd.col.add(key, "must be an annual rate (e.g. 0.035) or a schedule of bands "
                    "[{from_year = 0, rate = 0.035}, {from_year = 30, rate = 0.03}]; got " + repr(v))
    return None


def read_parameter(name: str, spec: Any, key: str, rd: Reader) -> Parameter | None:
    if not isinstance(spec, dict):
        e = rd.expr(spec, key)
        return Parameter(name=name, expr=e, key=key) if e is not None else None
    rd.check_keys(spec, PARAM_KEYS, key, "a parameter")
    if "value" not in spec:
        rd.col.add(key, "a parameter table needs 'value' (a number or an expression), e.g. "
                        f"{name} = {{ value = 0.15, source = \"...\" }}")
        return None
    e = rd.expr(spec["value"], f"{key}.value")
    if e is None:
        return None
    p = Parameter(name=name, expr=e, key=key)
    for k in ("source", "unit", "label", "notes"):
        if k in spec:
            setattr(p, k, rd.string(spec[k], f"{key}.{k}"))
    if "price_year" in spec:
        v = rd.number(spec["price_year"], f"{key}.price_year", lo=1900, hi=2200, integer=True)
        p.price_year = int(v) if v is not None else None
    if "price_index" in spec:
        p.price_index = rd.string(spec["price_index"], f"{key}.price_index")
        if "price_year" not in spec:
            rd.col.add(f"{key}.price_index", "names a price index, so the parameter needs its price_year too")
    if "assumption" in spec:
        p.assumption = bool(rd.boolean(spec["assumption"], f"{key}.assumption"))
    if "distribution" in spec:
        d = spec["distribution"]
        if not isinstance(d, dict) or "type" not in d:
            rd.col.add(f"{key}.distribution", "must be a table with a 'type', e.g. "
                                              "{ type = \"beta\", mean = 0.5, se = 0.05 }")
        else:
            p.distribution = d
            p.dist = parse_distribution_at(d, f"{key}.distribution", rd)
            if p.dist is not None and _set_without_its_distribution(key, rd):
                _recentre(p, rd)
    if "range" in spec:
        r = spec["range"]
        if (not isinstance(r, list) or len(r) != 2 or
                not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(to_float(x)) for x in r)
                or r[0] > r[1]):
            rd.col.add(f"{key}.range", f"must be [low, high], two finite numbers with low <= high, got {r!r}")
        else:
            p.range = (float(r[0]), float(r[1]))
    return p


def _origin(key: str, rd: Reader) -> str | None:
    """The file a key came from ("--set" for an override), by its longest recorded prefix."""
    origins = getattr(rd.col, "origins", {})
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        origin = origins.get(".".join(parts[:n]))
        if origin is not None:
            return origin
    return None


def _set_without_its_distribution(key: str, rd: Reader) -> bool:
    """``--set`` gave the parameter's value but not its distribution (which came from a scenario file)."""
    if _origin(f"{key}.value", rd) != "--set" or _origin(f"{key}.distribution", rd) == "--set":
        return False
    origins = getattr(rd.col, "origins", {})
    return not any(k.startswith(f"{key}.distribution.") and v == "--set" for k, v in origins.items())


def _recentre(p: Parameter, rd: Reader) -> None:
    """``--set parameters.X.value`` on a parameter with a PSA distribution: the distribution moves to the new value
    (as its mean, its SE kept: :func:`heecon.params.recentre.recentre`), so that base case and PSA agree."""
    from heecon.params import DistributionError
    from heecon.params.recentre import recentre

    where = f"{p.key}.distribution"
    if p.expr.constant is None:
        rd.col.add(f"{p.key}.value", f"--set gives it an expression ({p.expr.text!r}) but it has a PSA distribution, "
                                     "which cannot follow an expression; give a number, or the distribution too "
                                     f"(--set '{where} = {{...}}')")
        return
    try:
        old = p.dist
        p.dist = recentre(old, float(p.expr.constant), where)
    except DistributionError as exc:
        rd.col.add(f"{p.key}.value", f"set by --set to {p.expr.constant:g}: {exc.message}")
        return
    p.recentred_from = old


def key_base_dir(key: str, rd: Reader) -> Path:
    """The folder a relative file named at ``key`` is read from: that of the file the key came from (an
    ``extends`` parent, say), or the scenario's own folder for a key given by ``--set``."""
    origins = getattr(rd.col, "origins", {})
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        origin = origins.get(".".join(parts[:n]))
        if origin is not None:
            return Path(rd.col.file if origin == "--set" else origin).parent
    return Path(rd.col.file).parent


def parse_distribution_at(d: dict[str, Any], key: str, rd: Reader) -> Any:
    """The distribution at ``key`` parsed (once, at load), or None after reporting what is wrong with it."""
    from heecon.params import parse_distribution

    return parse_reporting(lambda spec: parse_distribution(spec, where=key, base_dir=key_base_dir(key, rd)), d, key, rd,
                           "distribution")


def parse_reporting(parse: Any, spec: Any, key: str, rd: Reader, what: str) -> Any:
    """``parse(spec)``, every problem reported at its key path: an unknown key is reported and the table parsed
    again without it, so that it does not hide the next problem (a bad value, a missing key). None on failure."""
    spec = dict(spec) if isinstance(spec, dict) else spec
    while True:
        try:
            return parse(spec)
        except ValueError as exc:
            msg = str(exc)
            # "parameters.x.distribution.mean: must be ..." -> key "parameters.x.distribution.mean", not the key twice
            sub, sep, rest = msg.partition(": ")
            if sep and (sub == key or sub.startswith(key + ".")) and " " not in sub:
                rd.col.add(sub, rest)
            else:
                sub, rest = key, msg
                rd.col.add(key, msg)
            k = sub[len(key) + 1:]
            if isinstance(spec, dict) and k in spec and k != "type" and rest.startswith("unknown key"):
                spec = {kk: v for kk, v in spec.items() if kk != k}
                continue
        except Exception as exc:  # a malformed table must be reported, never crash validation
            rd.col.add(key, f"is not a valid {what} ({type(exc).__name__}: {exc})")
        return None


def read_table(name: str, spec: Any, key: str, rd: Reader, path: Path, origins: Mapping[str, str]) -> Table | None:
    col = rd.col
    if not isinstance(spec, dict):
        col.add(key, "must be a table with either 'file', 'key' and 'value' (a CSV next to the scenario) "
                     "or inline 'keys' and 'values' lists")
        return None
    rd.check_keys(spec, TABLE_KEYS, key, "a table")
    keys = values = None
    if "file" in spec:
        f = rd.string(spec["file"], f"{key}.file")
        kcol, vcol = spec.get("key"), spec.get("value")
        if not isinstance(kcol, str) or not isinstance(vcol, str):
            col.add(key, "a table read from a file needs 'key' (the column to look up by, e.g. \"Age\") and "
                         "'value' (the column of values, e.g. \"Male\")")
            return None
        if f is None:
            return None
        base = Path(origins.get(f"{key}.file", str(path))).parent if origins.get(f"{key}.file", "--set") != "--set" else path.parent
        fpath = existing_file(base, f)
        if fpath is None:
            col.add(f"{key}.file", f"the file {f!r} does not exist (looked for {base / f})")
            return None
        try:
            with fpath.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                cols = reader.fieldnames or []
                if kcol not in cols or vcol not in cols:
                    missing = kcol if kcol not in cols else vcol
                    col.add(f"{key}.{'key' if missing == kcol else 'value'}",
                            f"column {missing!r} is not in {f}.{did_you_mean(missing, cols)} Columns: {valid_list(cols)}.")
                    return None
                rows = [(r[kcol], r[vcol]) for r in reader]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            col.add(f"{key}.file", f"cannot read {f} as a UTF-8 CSV file ({exc})")
            return None
        if not rows:
            col.add(f"{key}.file", f"{f} has a header but no rows of data")
            return None
        try:
            keys = np.array([float(a) for a, _ in rows])
            values = np.array([float(b) for _, b in rows])
        except (ValueError, TypeError):  # TypeError: a short row leaves a cell as None
            bad = next(i for i, (a, b) in enumerate(rows) if not (is_number_text(a) and is_number_text(b)))
            col.add(f"{key}.file", f"{f} row {bad + 2} has a {kcol!r} or {vcol!r} cell that is empty or not a number "
                                   f"({rows[bad][0]!r}, {rows[bad][1]!r}); both columns must hold numbers")
            return None
    elif "keys" in spec or "values" in spec:
        ks, vs = spec.get("keys"), spec.get("values")
        ok = all(isinstance(x, list) and x and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x)
                 for x in (ks, vs))
        if not ok:
            col.add(key, "inline tables need 'keys' and 'values': two non-empty lists of numbers")
            return None
        if len(ks) != len(vs):  # type: ignore[arg-type]
            col.add(f"{key}.values", f"has {len(vs)} values for {len(ks)} keys; they must match")  # type: ignore[arg-type]
            return None
        keys, values = np.asarray(ks, dtype=float), np.asarray(vs, dtype=float)
    else:
        col.add(key, "needs either 'file' (with 'key' and 'value' columns) or inline 'keys' and 'values'")
        return None
    if not (np.all(np.isfinite(keys)) and np.all(np.isfinite(values))):
        col.add(key, "the keys and values must be finite numbers (no nan or inf)")
        return None
    if np.any(np.diff(keys) <= 0):
        col.add(key, "the keys must increase strictly (e.g. ages 0, 1, 2, ...)")
        return None
    kind = rd.string(spec.get("kind", "value"), f"{key}.kind", ("probability", "rate", "value")) or "value"
    interp = rd.string(spec.get("interpolation", "step"), f"{key}.interpolation", ("step", "linear")) or "step"
    extrap = rd.string(spec.get("extrapolation", "error"), f"{key}.extrapolation", ("error", "constant")) or "error"
    if kind == "probability" and (np.any(values < 0) or np.any(values > 1)):
        bad = int(np.argmax((values < 0) | (values > 1)))
        col.add(key, f"is a table of probabilities but the value for key {keys[bad]:g} is {values[bad]:g}, outside [0, 1]")
    if kind == "rate" and np.any(values < 0):
        col.add(key, "is a table of rates but has a negative value")
    mult = rd.expr(spec["multiplier"], f"{key}.multiplier") if "multiplier" in spec else None
    src = spec.get("source")
    return Table(name=name, keys=keys, values=values, kind=kind, interpolation=interp, multiplier=mult,
                 source=src if isinstance(src, str) else None, key=key, extrapolation=extrap)


def read_state(name: str, spec: Any, key: str, rd: Reader, sectors: tuple[str, ...], settings: Settings) -> State | None:
    if not isinstance(spec, dict):
        rd.col.add(key, "must be a table ([states.NAME]) with e.g. utility and costs")
        return None
    rd.check_keys(spec, STATE_KEYS, key, "a state")
    dead = bool(rd.boolean(spec["dead"], f"{key}.dead")) if "dead" in spec else False
    absorbing = bool(rd.boolean(spec["absorbing"], f"{key}.absorbing")) if "absorbing" in spec else dead
    if dead and "absorbing" in spec and not absorbing:
        rd.col.add(f"{key}.absorbing", "a dead state is absorbing; remove 'absorbing = false'")
    if dead and "utility" in spec:
        rd.col.add(f"{key}.utility", "a dead state has no utility; remove it")
    utility = rd.expr(spec.get("utility", 0.0), f"{key}.utility") or parse(0.0)
    if utility.constant is not None and not (-1.0 <= utility.constant <= 1.0):
        rd.col.add(f"{key}.utility", f"must be at most 1 (full health) and not below -1, got {utility.constant:g}")
    costs = rd.costs(spec.get("costs", {}), f"{key}.costs", sectors)
    tunnel = 0
    if "tunnel" in spec:
        v = rd.number(spec["tunnel"], f"{key}.tunnel", lo=2, hi=10000, integer=True)
        tunnel = int(v) if v is not None else 0
        if absorbing:
            rd.col.add(f"{key}.tunnel", "an absorbing state cannot be a tunnel")
    texit = spec.get("tunnel_exit")
    if texit is not None:
        if not tunnel:
            rd.col.add(f"{key}.tunnel_exit", "only a tunnel state (tunnel = N cycles) has an exit state")
            texit = None
        elif not isinstance(texit, str):
            rd.col.add(f"{key}.tunnel_exit", "must be a state name")
            texit = None
    elif tunnel:
        rd.col.add(key, "a tunnel state needs tunnel_exit: the state people move to after the last tunnel cycle")
    label = spec.get("label", name)
    return State(name=name, label=label if isinstance(label, str) else name, utility=utility, costs=costs,
                 absorbing=absorbing, dead=dead, tunnel=tunnel, tunnel_exit=texit, key=key)


def read_transitions(raw: Any, rd: Reader, states: Mapping[str, State],
                     cell_reader: Any = None) -> dict[str, dict[str, Expr | None]]:
    """``[transitions]``; a cell given as a table is read by ``cell_reader(value, key, from_state)`` (a survival
    cell, :func:`heecon.scenario.survival_spec.survival_cell_reader`)."""
    col = rd.col
    out: dict[str, dict[str, Expr | None]] = {}
    tab = rd.table(raw, "transitions", "a table of from-state = { to-state = probability, ... }")
    if tab is None:
        col.add("transitions", "missing: give [transitions] with a row per non-absorbing state, "
                               "e.g. H = { H = \"C\", S = \"p_HS\" }")
        tab = {}
    for frm, row in tab.items():
        key = f"transitions.{frm}"
        if frm not in states:
            col.unknown(key, frm, states, "state")
            continue
        if not isinstance(row, dict) or not row:
            col.add(key, "must be a table of to-state = probability (or \"C\" for the complement)")
            continue
        if states[frm].absorbing:
            col.add(key, f"'{frm}' is absorbing (or dead), so it has no transitions; remove this row or the flag")
            continue
        comp = [to for to, v in row.items() if isinstance(v, str) and v.strip() == "C"]
        if len(comp) > 1:
            col.add(key, f"has more than one complement \"C\" ({', '.join(comp)}); at most one entry per row may be \"C\"")
        cells: dict[str, Expr | None] = {}
        for to, v in row.items():
            k2 = f"{key}.{to}"
            if to not in states:
                col.unknown(k2, to, states, "state")
                continue
            if states[frm].tunnel and to == frm:
                col.add(k2, f"'{frm}' is a tunnel state: people stay for exactly {states[frm].tunnel} cycles, "
                            "so it cannot have a transition to itself (the complement moves them along the tunnel)")
                continue
            if isinstance(v, str) and v.strip() == "C":
                if states[frm].tunnel:
                    col.add(k2, f"'{frm}' is a tunnel state: whoever does not leave moves along the tunnel (and to "
                                "tunnel_exit after the last cycle), so its row takes no complement \"C\"")
                    continue
                cells[to] = None
                continue
            if isinstance(v, dict) and cell_reader is not None:
                e = cell_reader(v, k2, frm)
                cells[to] = e if e is not None else parse(0.0)
                continue
            e = rd.expr(v, k2)
            if e is not None:
                if e.constant is not None and not (0.0 <= e.constant <= 1.0):
                    col.add(k2, f"is a probability and must be in [0, 1], got {e.constant:g}")
                cells[to] = e
            else:  # already reported; keep the cell so that strategy modifiers naming it are not reported too
                cells[to] = parse(0.0)
        out[frm] = cells
    for name, st in states.items():
        if not st.absorbing and not st.tunnel and name not in out and f"transitions.{name}" not in {p.key for p in col.problems}:
            col.add(f"transitions.{name}", f"missing: state '{name}' is not absorbing, so it needs a row of transitions "
                                           f"(or mark it absorbing = true)")
    return out


def read_transition_rewards(raw: Any, rd: Reader, states: Mapping[str, State], sectors: tuple[str, ...]) -> list[TransitionReward]:
    out: list[TransitionReward] = []
    for key, spec in rd.tables(raw, "transition_rewards",
                               "must be an array of tables: [[transition_rewards]] with from, to, costs/qalys",
                               "must be a table with from, to and costs and/or qalys", TR_KEYS, "a transition reward"):
        ends = []
        for end in ("from", "to"):
            v = spec.get(end)
            if not isinstance(v, str):
                rd.col.add(f"{key}.{end}", f"must be a state name or \"*\" (any state), got {v!r}")
                ends.append(None)
            elif v != "*" and v not in states:
                rd.col.unknown(f"{key}.{end}", v, states, "state")
                ends.append(None)
            else:
                ends.append(v)
        costs = rd.costs(spec.get("costs", {}), f"{key}.costs", sectors)
        qalys = rd.expr(spec["qalys"], f"{key}.qalys") if "qalys" in spec else None
        if not costs and qalys is None:
            rd.col.add(key, "gives neither costs nor qalys; a transition reward needs at least one")
        strategies = None
        if "strategies" in spec:
            v = spec["strategies"]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                rd.col.add(f"{key}.strategies", "must be a list of strategy names")
            else:
                strategies = tuple(v)
        if None not in ends:
            out.append(TransitionReward(ends[0], ends[1], costs, qalys, strategies, key))  # type: ignore[arg-type]
    return out


def parse_transition_ref(text: str) -> tuple[str, str] | None:
    m = re.match(r"^\s*([A-Za-z*][A-Za-z0-9_]*|\*)\s*->\s*([A-Za-z*][A-Za-z0-9_]*|\*)\s*$", text)
    return (m.group(1), m.group(2)) if m else None


def read_strategies(raw: Any, rd: Reader, states: Mapping[str, State], sectors: tuple[str, ...], settings: Settings,
                     transitions: Mapping[str, Mapping[str, Expr | None]], params: Mapping[str, Parameter]) -> dict[str, Strategy]:
    col = rd.col
    out: dict[str, Strategy] = {}
    tab = rd.table(raw, "strategies", "a table of strategies ([strategies.NAME] sections)")
    if not tab:
        col.add("strategies", "a scenario needs at least one strategy ([strategies.NAME] with a label)")
        return out
    for name, spec in tab.items():
        key = f"strategies.{name}"
        if not NAME_RE.match(name):
            col.add(key, f"'{name}' cannot be a strategy name: use letters, digits and _ starting with a letter")
            continue
        if not isinstance(spec, dict):
            col.add(key, "must be a table ([strategies.NAME]) with a label and optional modifications")
            continue
        rd.check_keys(spec, STRATEGY_KEYS, key, "a strategy")
        label = spec.get("label", name)
        descr = spec.get("description", "")
        pover: dict[str, Expr] = {}
        for pname, v in (rd.table(spec.get("parameters", {}), f"{key}.parameters") or {}).items():
            if pname not in params:
                col.unknown(f"{key}.parameters.{pname}", pname, params, "parameter")
                continue
            e = rd.expr(v, f"{key}.parameters.{pname}")
            if e is not None:
                pover[pname] = e
        mods: list[Modifier] = []
        for mk, m in rd.tables(spec.get("modifiers", []), f"{key}.modifiers",
                               "must be an array of tables: [[strategies.NAME.modifiers]]",
                               "must be a table with transitions, rr or hr, and optional cycles", MODIFIER_KEYS,
                               "a modifier"):
            refs = m.get("transitions", m.get("transition"))
            if isinstance(refs, str):
                refs = [refs]
            pairs: list[tuple[str, str]] = []
            if not isinstance(refs, list) or not refs:
                col.add(mk, "needs transitions = [\"FROM -> TO\", ...] (\"*\" matches any state)")
            else:
                for j, r in enumerate(refs):
                    pr = parse_transition_ref(r) if isinstance(r, str) else None
                    if pr is None:
                        col.add(f"{mk}.transitions[{j}]", f"must look like \"FROM -> TO\", got {r!r}")
                        continue
                    if any(parse_transition_ref(x) == pr for x in refs[:j] if isinstance(x, str)):
                        col.add(f"{mk}.transitions[{j}]", f"names '{r}' twice in this modifier; give each transition "
                                                          "once (it is modified once)")
                        continue
                    matched = [(f, t) for f, row in transitions.items() for t, e in row.items()
                               if e is not None and pr[0] in ("*", f) and pr[1] in ("*", t)]
                    for end, nm in zip(("from", "to"), pr):
                        if nm != "*" and nm not in states:
                            col.unknown(f"{mk}.transitions[{j}]", nm, states, f"state ({end})")
                    if not matched and all(nm == "*" or nm in states for nm in pr):
                        col.add(f"{mk}.transitions[{j}]", f"'{r}' matches no transition given in [transitions] "
                                                          "(the complement \"C\" cannot be modified: it absorbs the change)")
                    pairs.extend(matched)
            kinds = [k for k in ("rr", "hr", "value") if k in m]
            if len(kinds) != 1:
                col.add(mk, "needs exactly one of rr (relative risk: multiplies the probability), "
                            "hr (hazard ratio: p' = 1 - (1 - p)^hr) or value (replaces the probability)")
                continue
            val = rd.expr(m[kinds[0]], f"{mk}.{kinds[0]}")
            if val is not None and val.constant is not None:
                c = val.constant
                if kinds[0] in ("rr", "hr") and not (math.isfinite(c) and c >= 0):
                    col.add(f"{mk}.{kinds[0]}", f"a {'relative risk' if kinds[0] == 'rr' else 'hazard ratio'} must be "
                                                f"a finite number >= 0, got {c:g}")
                elif kinds[0] == "value" and not 0.0 <= c <= 1.0:
                    col.add(f"{mk}.value", f"replaces a probability, so it must be in [0, 1], got {c:g}")
            cyc = rd.cycles(m.get("cycles"), f"{mk}.cycles", settings.n_cycles)
            if val is not None:
                mods.append(Modifier(tuple(dict.fromkeys(pairs)), kinds[0], val, cyc, mk))
        extra: list[ExtraCost] = []
        clist = spec.get("costs", [])
        if isinstance(clist, dict):
            clist = [clist]
        for ck, c in rd.tables(clist, f"{key}.costs",
                               "must be an array of tables: [[strategies.NAME.costs]] with states, costs, cycles",
                               "must be a table with states, costs and optional cycles", EXTRA_COST_KEYS,
                               "strategy costs"):
            sts = rd.name_list(c.get("states", []), f"{ck}.states", states, "state")
            if not sts:
                col.add(ck, "needs states = [...]: the states in which the extra costs are paid")
            costs = rd.costs(c.get("costs", {}), f"{ck}.costs", sectors)
            if not costs:
                col.add(f"{ck}.costs", "needs at least one sector = amount")
            extra.append(ExtraCost(sts, costs, rd.cycles(c.get("cycles"), f"{ck}.cycles", settings.n_cycles), ck))
        utils: dict[str, Expr] = {}
        for sname, v in (rd.table(spec.get("utilities", {}), f"{key}.utilities") or {}).items():
            if sname not in states:
                col.unknown(f"{key}.utilities.{sname}", sname, states, "state")
                continue
            if states[sname].dead:
                col.add(f"{key}.utilities.{sname}", f"'{sname}' is a dead state: it has no utility (and no life "
                                                     "years), so a utility there would be ignored; remove it")
                continue
            e = rd.expr(v, f"{key}.utilities.{sname}")
            if e is not None:
                if e.constant is not None and not (-1.0 <= e.constant <= 1.0):
                    col.add(f"{key}.utilities.{sname}", f"must be at most 1 (full health) and not below -1, "
                                                         f"got {e.constant:g}")
                utils[sname] = e
        s_costs: dict[str, Expr] = {}
        s_qalys = None
        stab = rd.table(spec.get("start"), f"{key}.start", "a table with costs and/or qalys paid once at time 0")
        if stab is not None:
            rd.check_keys(stab, STRATEGY_START_KEYS, f"{key}.start", "a strategy's start")
            s_costs = rd.costs(stab.get("costs", {}), f"{key}.start.costs", sectors)
            s_qalys = rd.expr(stab["qalys"], f"{key}.start.qalys") if "qalys" in stab else None
            if not s_costs and s_qalys is None and "costs" not in stab:
                col.add(f"{key}.start", "gives neither costs nor qalys: the one-off amounts at time 0 in this strategy")
        out[name] = Strategy(name, label if isinstance(label, str) else name, descr if isinstance(descr, str) else "",
                             pover, mods, extra, utils, key, s_costs, s_qalys)
    return out
