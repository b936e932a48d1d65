"""The dead-letter queue: the envelope, the publisher, and the inspect / replay tools."""
