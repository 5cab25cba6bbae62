"""The aggregator's browser UI: the gateway's frame, log-in and Real-time tables, one level up."""
