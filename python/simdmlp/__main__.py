"""Command line:

    python -m simdmlp info
    python -m simdmlp train [FILE.csv --target COLUMN] [--hidden 256,128] [--activation gelu]
                            [--epochs N] [--batch-size B] [--lr LR] [--seed S] [--save model.npz]

``train`` fits an MLP classifier (integer targets with few distinct values) or regressor
(anything else) on a CSV file with a header row, standardising the features and holding
out 20% as a test set; with no file it trains on scikit-learn's bundled 8x8 digits (no
download) and reports the test accuracy.
"""
from __future__ import annotations

import argparse
import json
import sys


def _load_csv(path, target):
    import numpy as np

    with open(path, newline="") as f:
        header = f.readline().strip().split(",")
    header = [h.strip().strip('"') for h in header]
    if target not in header:
        raise SystemExit(f"simdmlp train: column {target!r} not in {path} (columns: {', '.join(header)})")
    data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None] if len(header) == 1 else data[None, :]
    if data.shape[1] != len(header):
        raise SystemExit(f"simdmlp train: {path} has {data.shape[1]} columns per row but {len(header)} names")
    if np.isnan(data).any():
        raise SystemExit(f"simdmlp train: {path} has missing or non-numeric values")
    j = header.index(target)
    return np.delete(data, j, axis=1), data[:, j]


def _train(args):
    import numpy as np

    from . import nn, optim

    if args.file:
        if not args.target:
            raise SystemExit("simdmlp train: --target COLUMN is required with a CSV file")
        X, y = _load_csv(args.file, args.target)
        source = args.file
    else:
        from sklearn.datasets import load_digits

        d = load_digits()
        X, y = d.data.astype(np.float64), d.target
        source = "scikit-learn digits (8x8)"
    classify = bool(np.all(np.mod(y, 1) == 0)) and len(np.unique(y)) <= 50
    rng = np.random.default_rng(args.seed)
    idx = rng.permutation(len(X))
    n_test = max(1, len(X) // 5)
    te, tr = idx[:n_test], idx[n_test:]
    mu, sd = X[tr].mean(0), X[tr].std(0)
    sd[sd == 0] = 1
    X = ((X - mu) / sd).astype(np.float32)
    hidden = [int(h) for h in args.hidden.split(",") if h]
    if classify:
        classes, y_idx = np.unique(y, return_inverse=True)
        y = y_idx
        out, loss = len(classes), nn.SoftmaxCrossEntropyLoss()
    else:
        y = y.astype(np.float32)[:, None]
        out, loss = 1, nn.MSELoss()
    model = nn.MLP([X.shape[1], *hidden, out], activation=args.activation, rng=rng)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    print(f"training {model.sizes} ({args.activation}) on {source}: {len(tr)} train, {len(te)} test rows, "
          f"{'classification' if classify else 'regression'}")
    model.fit(X[tr], y[tr], epochs=args.epochs, batch_size=args.batch_size, loss=loss, optimizer=opt,
              validation_data=(X[te], y[te]), rng=rng)
    result = model.evaluate(X[te], y[te], loss=loss)
    print("test " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    if args.save:
        model.save(args.save)
        print(f"saved to {args.save}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simdmlp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, compiler, OpenMP, ISAs and threads")
    tr = sub.add_parser("train", help="train an MLP on a CSV file or on the digits data")
    tr.add_argument("file", nargs="?", help="CSV file with a header row (default: digits)")
    tr.add_argument("--target", help="the column to predict")
    tr.add_argument("--hidden", default="256,128", help="hidden widths, comma-separated (default 256,128)")
    tr.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    tr.add_argument("--epochs", type=int, default=20)
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--save", help="write the trained model to this .npz file")
    args = parser.parse_args(argv)
    if args.command == "info":
        import simdmlp

        print(json.dumps(simdmlp.info(), indent=2))
        return 0
    return _train(args)


if __name__ == "__main__":
    sys.exit(main())
