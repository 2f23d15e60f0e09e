"""What the front ends share: the conversation service, compare, providers, and the
workspace that wires them."""
