"""What every page of the browser UI shares: the frame (tree and tabs), local time, site settings."""
