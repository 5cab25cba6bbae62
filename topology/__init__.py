"""Topology: the site description (topology.yaml) as typed values, its loader and checks."""
