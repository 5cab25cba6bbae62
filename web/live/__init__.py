"""The live side of the web UI: what changed, each level's present model, the event streams."""
