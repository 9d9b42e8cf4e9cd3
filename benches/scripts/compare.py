"""Compare horao-pack results (JSON lines) with Python `binpacking` and OR-Tools CP-SAT.

Called by compare.sh, which creates the virtualenv. Prints, per tool, instances solved to
the best known optimum, total bins, the ratio of bins to horao's local search, and time.
"""
import argparse
import json
import os
import sys
import time


def read_instance(path):
    with open(path) as f:
        tokens = f.read().split()
    n, capacity = int(tokens[0]), int(tokens[1])
    return capacity, [int(t) for t in tokens[2 : 2 + n]]


def instance_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                for name in sorted(files):
                    if name.endswith(".txt"):
                        yield os.path.join(root, name)
        else:
            yield p


def run_binpacking(capacity, items):
    import binpacking

    start = time.perf_counter()
    bins = binpacking.to_constant_volume(items, capacity)
    return len(bins), time.perf_counter() - start


def run_cpsat(capacity, items, seconds, upper):
    from ortools.sat.python import cp_model

    start = time.perf_counter()
    m = cp_model.CpModel()
    nb = upper
    x = {(i, b): m.NewBoolVar("") for i in range(len(items)) for b in range(nb)}
    used = [m.NewBoolVar("") for _ in range(nb)]
    for i in range(len(items)):
        m.AddExactlyOne(x[i, b] for b in range(nb))
    for b in range(nb):
        m.Add(sum(items[i] * x[i, b] for i in range(len(items))) <= capacity * used[b])
        if b > 0:
            m.Add(used[b] <= used[b - 1])
    m.Minimize(sum(used))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 1
    status = solver.Solve(m)
    bins = int(solver.ObjectiveValue()) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else upper
    return bins, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--horao", required=True)
    ap.add_argument("--bounds")
    ap.add_argument("--cpsat-seconds", type=float, default=2.0)
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    best = {}
    if args.bounds:
        for line in open(args.bounds):
            parts = line.split()
            if len(parts) == 3:
                best[parts[0]] = int(parts[2])
    horao = {}
    for line in open(args.horao):
        r = json.loads(line)
        horao[(r["instance"], r["algorithm"])] = r
    totals = {}

    def add(tool, name, bins, secs):
        t = totals.setdefault(tool, [0, 0, 0, 0.0])
        t[0] += 1
        t[1] += bins == best.get(name)
        t[2] += bins
        t[3] += secs

    for path in instance_files(args.paths):
        name = os.path.splitext(os.path.basename(path))[0]
        capacity, items = read_instance(path)
        for alg in ("ffd", "local-search"):
            r = horao.get((name, alg))
            if r:
                add("horao " + alg, name, r["bins"], r["micros"] / 1e6)
        b, s = run_binpacking(capacity, items)
        add("binpacking", name, b, s)
        upper = horao.get((name, "ffd"), {}).get("bins", len(items))
        b, s = run_cpsat(capacity, items, args.cpsat_seconds, upper)
        add(f"cp-sat {args.cpsat_seconds:g}s", name, b, s)
        print(f"\r{name}", end="", file=sys.stderr)
    print(file=sys.stderr)
    ref = totals.get("horao local-search", [1, 0, 1, 1])
    print(f"{'tool':22} {'inst':>5} {'optimal':>8} {'bins':>9} {'bins/horao':>10} {'time s':>9} {'time/horao':>10}")
    for tool, (n, opt, bins, secs) in totals.items():
        print(f"{tool:22} {n:5} {opt:8} {bins:9} {bins / ref[2]:10.4f} {secs:9.2f} {secs / max(ref[3], 1e-9):10.1f}")


if __name__ == "__main__":
    main()
