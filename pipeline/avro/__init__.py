"""The Avro type system as this project reads it: schemas parsed by Avro Java 1.12's rules into a graph
of nodes (:mod:`pipeline.avro.model`), shared by the compatibility checker, the codec and the code
generator. Pure."""

from pipeline.avro import model, parsing
from pipeline.avro.model import *  # noqa: F403 (the package's names are its modules' names)
from pipeline.avro.parsing import *  # noqa: F403 (the package's names are its modules' names)

__all__: list[str] = []
__all__ += model.__all__
__all__ += parsing.__all__
