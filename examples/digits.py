"""Train a small MLP on scikit-learn's bundled 8x8 digits with simdmlp."""
import numpy as np
from sklearn.datasets import load_digits

from simdmlp import nn, optim

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)          # pixels in [0, 1]
y = digits.target                                     # labels 0..9
order = np.random.default_rng(0).permutation(len(X))
train, test = order[:1400], order[1400:]

model = nn.MLP([64, 128, 64, 10], activation="relu", rng=0)
model.fit(X[train], y[train], epochs=30, batch_size=32, loss=nn.SoftmaxCrossEntropyLoss(),
          optimizer=optim.Adam(model.parameters(), lr=1e-3), rng=0)
print("test accuracy:", model.evaluate(X[test], y[test])["accuracy"])
