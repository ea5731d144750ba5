"""Command-line tools: the offline check, the lab verifier and their helpers."""
