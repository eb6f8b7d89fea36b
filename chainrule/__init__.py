"""chainrule: derivatives of composite functions by the chain rule, shown.

Reverse mode (backpropagation), forward mode, any order, on NumPy arrays; neural networks
trained by gradient descent; and explanations that show every link of the chain.
"""

# --- core: tensors, differentiable functions ---

# --- transforms ---

# --- explain ---

# --- neural networks, optimizers, data, io ---

# --- pictures ---
