"""Checks our `?format=ccxt` markets against the real ccxt (pinned in scripts/setup.sh).

  python ccxt_check.py EXCHANGE_INFO.json OURS.json [--sample N]

EXCHANGE_INFO.json is the raw exchangeInfo payload our markets were built from; OURS.json
is our response body (`{"markets": [...]}`). For every raw symbol, ccxt's own
`ccxt.binance().parse_market(raw)` (offline: `crossMarginPairsData` and
`isolatedMarginPairsData` empty, nothing fetched) must equal our market field by field,
types included (`1.0` is not `1`, `True` is not `1`), in the same order; a symbol ccxt
returns `None` for (or raises on) must be absent from ours. Then two exchanges, one given
our markets and one ccxt's through `set_markets`, must answer `amount_to_precision` and
`price_to_precision` alike (the same string, or the same exception) on a sample of symbols
and values. Prints one JSON line: the counts, and the first mismatches by path; exit 1
when there is any.
"""
import json
import math
import sys

import ccxt

EXPECTED_CCXT = "4.5.90"
MAX_REPORTED = 20


def exchange():
    ex = ccxt.binance()
    ex.options["crossMarginPairsData"] = []
    ex.options["isolatedMarginPairsData"] = []
    return ex


def diff(ours, theirs, path, out):
    """Appends `path: ours != theirs` for every difference (types compared exactly)."""
    if type(ours) is not type(theirs):
        out.append(f"{path}: ours {ours!r} ({type(ours).__name__}) != ccxt {theirs!r} ({type(theirs).__name__})")
    elif isinstance(theirs, dict):
        for k in theirs.keys() | ours.keys():
            if k not in ours:
                out.append(f"{path}.{k}: missing in ours (ccxt {theirs[k]!r})")
            elif k not in theirs:
                out.append(f"{path}.{k}: extra in ours ({ours[k]!r})")
            else:
                diff(ours[k], theirs[k], f"{path}.{k}", out)
    elif isinstance(theirs, list):
        if len(ours) != len(theirs):
            out.append(f"{path}: {len(ours)} items in ours, {len(theirs)} in ccxt")
        for i, (a, b) in enumerate(zip(ours, theirs)):
            diff(a, b, f"{path}[{i}]", out)
    elif isinstance(theirs, float) and math.isnan(theirs):
        if not math.isnan(ours):
            out.append(f"{path}: ours {ours!r} != ccxt nan")
    elif ours != theirs:
        out.append(f"{path}: ours {ours!r} != ccxt {theirs!r}")


def answer(fn, symbol, value):
    try:
        return ("ok", fn(symbol, value))
    except Exception as e:  # the same exception is the same answer
        return ("error", type(e).__name__, str(e))


def main():
    args = sys.argv[1:]
    sample = 40
    if "--sample" in args:
        i = args.index("--sample")
        sample = int(args[i + 1])
        del args[i : i + 2]
    raw_path, ours_path = args
    with open(raw_path, encoding="utf-8") as f:
        raw = json.load(f)["symbols"]
    with open(ours_path, encoding="utf-8") as f:
        ours = json.load(f)["markets"]
    if ccxt.__version__ != EXPECTED_CCXT:
        print(json.dumps({"ok": False, "error": f"ccxt {ccxt.__version__} installed, {EXPECTED_CCXT} expected"}))
        return 1
    ex = exchange()
    theirs, skipped = [], 0
    for r in raw:
        try:
            m = ex.parse_market(r)
        except Exception:
            m = None
        if m is None:
            skipped += 1
        else:
            theirs.append(m)
    problems = []
    if len(ours) != len(theirs):
        problems.append(f"markets: {len(ours)} in ours, {len(theirs)} from ccxt")
    for a, b in zip(ours, theirs):
        diff(a, b, b["id"], problems)
        if len(problems) >= MAX_REPORTED:
            break

    # set_markets: ours and ccxt's own, then the precision helpers on a sample.
    mine, ref = exchange(), exchange()
    mine.set_markets(ours)
    ref.set_markets(theirs)
    step = max(1, len(theirs) // sample)
    picked = [m["symbol"] for m in theirs[::step]]
    values = [0.000123456789, 0.00999, 0.1, 1, 1.23456789, 3.14159265358979, 12345.6789,
              987654.321, 1e-9, 5e7, 0]
    compared = 0
    for symbol in picked:
        for v in values:
            for name in ("amount_to_precision", "price_to_precision"):
                a = answer(getattr(mine, name), symbol, v)
                b = answer(getattr(ref, name), symbol, v)
                compared += 1
                if a != b and len(problems) < 2 * MAX_REPORTED:
                    problems.append(f"{name}({symbol!r}, {v!r}): ours {a!r} != ccxt {b!r}")
    print(json.dumps({
        "ok": not problems,
        "ccxt": ccxt.__version__,
        "raw_symbols": len(raw),
        "markets": len(ours),
        "ccxt_markets": len(theirs),
        "ccxt_none": skipped,
        "precision_calls": compared,
        "first_mismatches": problems[:MAX_REPORTED],
    }, ensure_ascii=False))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
