"""chainrule: derivatives by the chain rule, shown."""
