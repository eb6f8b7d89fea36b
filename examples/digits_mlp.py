"""Handwritten digits with a multilayer perceptron, the PyTorch way.

    python examples/digits_mlp.py

Loads scikit-learn's bundled 8x8 digits, standardises them, trains Linear(64, 64) - ReLU -
Linear(64, 10) with Adam and cross-entropy, and reports the test accuracy (about 0.98).
"""

import os
import tempfile

import numpy as np
from threadpoolctl import threadpool_limits  # installed with scikit-learn

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, train_test_split
from chainrule.datasets import load_digits

# Small networks are fastest with one BLAS thread (as `chainrule train`): more threads
# only fight over the cores for such small matrices.
threadpool_limits(1, "blas")

X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
mean, std = X_train.mean(0), X_train.std(0) + 1e-8
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

cr.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True, seed=0)

# The training loop, written out: forward, loss, zero_grad, backward, step.
for epoch in range(30):
    model.train()
    total = 0.0
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(yb)
    if epoch % 5 == 4:
        model.eval()
        with cr.no_grad():
            out = model(cr.tensor(X_test, dtype=cr.float32))
            acc = np.mean(np.argmax(out.data, axis=1) == y_test)
        print(f"epoch {epoch + 1:2d}  loss {total / len(y_train):.4f}  test accuracy {acc:.4f}")

# The same, with the loop written once for you:
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
history = cr.train.fit(
    model,
    loss_fn,
    optim.Adam(model.parameters(), lr=1e-3),
    (X_train, y_train),
    epochs=30,
    val_data=(X_test, y_test),
    progress="epochs",
)
print(f"cr.train.fit: test accuracy {history.val_accuracy[-1]:.4f}")
path = os.path.join(tempfile.gettempdir(), "digits_mlp.ckpt")
cr.save(model.state_dict(), path)
print(f"saved the weights to {path} (reload: model.load_state_dict(cr.load(path)))")
