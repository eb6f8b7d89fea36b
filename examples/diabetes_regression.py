"""Regression: disease progression on the diabetes dataset, against ordinary least squares.

    python examples/diabetes_regression.py

A small tanh network with decoupled weight decay (AdamW), trained on standardised features
and targets with the mean squared error; R^2 is compared with the least-squares line.
"""

import numpy as np
from threadpoolctl import threadpool_limits  # installed with scikit-learn

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import train_test_split
from chainrule.datasets import load_diabetes

# Small networks are fastest with one BLAS thread (as `chainrule train`): more threads
# only fight over the cores for such small matrices.
threadpool_limits(1, "blas")


def r2(y, pred):
    return 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)


X, y = load_diabetes()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)

# The baseline: least squares with an intercept.
A = np.column_stack([X_train, np.ones(len(X_train))])
coef = np.linalg.lstsq(A, y_train, rcond=None)[0]
ols = np.column_stack([X_test, np.ones(len(X_test))]) @ coef

mean, std = X_train.mean(0), X_train.std(0)
y_mean, y_std = y_train.mean(), y_train.std()
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 1))
optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.5)
history = cr.train.fit(
    model,
    nn.MSELoss(),
    optimizer,
    ((X_train - mean) / std, ((y_train - y_mean) / y_std)[:, None]),
    epochs=100,
    metrics=("r2",),
    progress="epochs",
)
pred = cr.train.predict(model, (X_test - mean) / std)[:, 0] * y_std + y_mean
print(f"test R^2: network {r2(y_test, pred):.4f}, least squares {r2(y_test, ols):.4f}")
