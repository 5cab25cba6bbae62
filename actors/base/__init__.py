"""What every actor of the tree is built on: the loop actor, the served actor, the init gate, supervision."""
