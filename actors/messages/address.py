"""The type of an actor's address in messages."""

from thespian.actors import ActorAddress

# Unhashable: keep addresses in lists and compare them with ==.
Address = ActorAddress
