"""Handwritten digits with a small convolutional network (about 0.986 test accuracy).

    python examples/digits_cnn.py [--plot cnn.png]

Two 3x3 convolutions (im2col under the hood) with ReLU and 2x2 max pooling, then a linear
classifier; Adam with a cosine learning-rate schedule; 20 epochs take a few seconds.
"""

import sys

from threadpoolctl import threadpool_limits  # installed with scikit-learn

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import train_test_split
from chainrule.datasets import load_digits

# Small networks are fastest with one BLAS thread (as `chainrule train`): more threads
# only fight over the cores for such small matrices.
threadpool_limits(1, "blas")

X, y = load_digits()
X = (X / 16.0).reshape(-1, 1, 8, 8)  # images of shape (N, C=1, H=8, W=8), pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0, stratify=True)

cr.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),  # 16 x 4 x 4
    nn.Conv2d(16, 32, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),  # 32 x 2 x 2
    nn.Flatten(),
    nn.Linear(32 * 2 * 2, 10),
)
print(model)
epochs = 20
optimizer = optim.Adam(model.parameters(), lr=3e-3)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
history = cr.train.fit(
    model,
    nn.CrossEntropyLoss(),
    optimizer,
    (X_train, y_train),
    epochs,
    val_data=(X_test, y_test),
    scheduler=scheduler,
    progress="epochs",  # one line per epoch, on a terminal or in a log
)
print(f"test accuracy: {history.val_accuracy[-1]:.4f}")
if "--plot" in sys.argv:
    path = sys.argv[sys.argv.index("--plot") + 1]
    history.plot(path)
    print(f"saved the curves to {path}")
