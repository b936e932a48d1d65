"""The Schema Registry: the client, the cached resolver with the framed codec, and registration."""
