"""Vector search for the documents database: NumPy over float32 BLOBs (what the app
does) against sqlite-vec loaded into sqlean-py's own SQLite (the alternative the
standard `sqlite3` cannot load), on the same vectors and queries.

Measures, for N passages of D dimensions: the first query (which reads the BLOBs into
a matrix), later queries (exact top-10), and whether both find the same top 10.
sqlite-vec is measured only when `sqlean-py` and `sqlite-vec` are installed (they are
not dependencies of the app).

    python bench/vector_search.py [--sizes 10000,50000] [--dims 384] [--queries 50]
"""

# ruff: noqa: E501  (the printed table reads best one row to a line)
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS, write_json

from app.store.documents import DocumentStore, StoredChunk


def _vectors(n: int, dims: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, dims)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def numpy_store(folder: Path, rows: np.ndarray, queries: np.ndarray) -> dict[str, object]:
    store = DocumentStore(folder / "numpy.sqlite3")
    cid = store.ensure_collection("bench", [])
    store.add_files(cid, ["/bench/file.txt"])
    (row,) = store.files(cid)
    chunks = [StoredChunk(i, None, 0, 1, "", "x", "x", rows[i].tobytes()) for i in range(len(rows))]
    store.store_file(
        row.id, size=1, mtime_ns=1, sha256="", kind="text", pages=None,
        embedding_model="m", chunks=chunks,
    )  # fmt: skip
    t0 = time.perf_counter()
    first = store.vector_search(cid, "m", queries[0], 10)
    first_ms = (time.perf_counter() - t0) * 1000
    times, tops = [], []
    for query in queries:
        t0 = time.perf_counter()
        hits = store.vector_search(cid, "m", query, 10)
        times.append((time.perf_counter() - t0) * 1000)
        tops.append([h.chunk_id for h in hits])
    store.close()
    assert first
    return {"first_query_ms": first_ms, "query_ms": statistics.median(times), "tops": tops}


def sqlite_vec_store(folder: Path, rows: np.ndarray, queries: np.ndarray) -> dict[str, object]:
    import sqlean
    import sqlite_vec

    conn = sqlean.connect(str(folder / "vec.sqlite3"))
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    dims = rows.shape[1]
    conn.execute(
        f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{dims}] distance_metric=cosine)"
    )
    conn.executemany(
        "INSERT INTO v (rowid, embedding) VALUES (?, ?)",
        ((i + 1, rows[i].tobytes()) for i in range(len(rows))),
    )
    conn.commit()
    sql = "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 10 ORDER BY distance"
    t0 = time.perf_counter()
    conn.execute(sql, (queries[0].tobytes(),)).fetchall()
    first_ms = (time.perf_counter() - t0) * 1000
    times, tops = [], []
    for query in queries:
        t0 = time.perf_counter()
        found = conn.execute(sql, (query.tobytes(),)).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
        tops.append([r[0] for r in found])
    conn.close()
    return {"first_query_ms": first_ms, "query_ms": statistics.median(times), "tops": tops}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS / "vector_search.json")
    args = parser.parse_args()
    try:
        import sqlean  # noqa: F401
        import sqlite_vec  # noqa: F401

        have_vec = True
    except ImportError:
        have_vec = False
    print(
        f"standard sqlite3 can load extensions: {hasattr(sqlite3.Connection, 'enable_load_extension')}"
    )
    print(f"{'passages':>9} {'engine':<22} {'first query ms':>15} {'query ms':>9}  same top 10")
    result: dict[str, object] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        rows = _vectors(n, args.dims, 1)
        queries = _vectors(args.queries, args.dims, 2)
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            ours = numpy_store(folder, rows, queries)
            print(f"{n:>9} {'NumPy over BLOBs':<22} {ours['first_query_ms']:>15.1f} "
                  f"{ours['query_ms']:>9.2f}")  # fmt: skip
            entry: dict[str, object] = {"numpy": {k: v for k, v in ours.items() if k != "tops"}}
            if have_vec:
                vec = sqlite_vec_store(folder, rows, queries)
                same = statistics.mean(
                    len(set(a) & set(b)) / 10
                    for a, b in zip(ours["tops"], vec["tops"], strict=True)
                )
                print(f"{n:>9} {'sqlite-vec (sqlean)':<22} {vec['first_query_ms']:>15.1f} "
                      f"{vec['query_ms']:>9.2f}  {same:.0%}")  # fmt: skip
                entry["sqlite_vec"] = {k: v for k, v in vec.items() if k != "tops"}
                entry["same_top10"] = same
        result[str(n)] = entry
    if not have_vec:
        print("sqlite-vec not measured: pip install sqlean-py sqlite-vec")
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    write_json(args.out, {"dims": args.dims, "sizes": result, "load_average": load})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
