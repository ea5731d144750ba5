"""The lab's building blocks, one ComponentResource per module."""
