"""The schema catalog: ``schemas/catalog.toml`` plus one ``<full name>.avsc`` file per named Avro type.

The catalog file says, per topic, the value type, the key (a plain ``string`` by default, or an Avro
type), the subject-name strategy, each subject's compatibility level, the partitions and the dead-letter
topic. File name, type name and subject derive from each other. Loading is pure apart from reading the
directory (:func:`read_sources`); everything else takes values and returns values.

Typical use::

    catalog = load_catalog("schemas")          # SchemaValidationError lists every problem
    topic = catalog.topic("orders")
    topic.value.subject, topic.value.text, topic.value.references   # what is registered
    topic.value.parsed                                              # fastavro schema, all types resolved
    topic.dlq, topic.partitions
    for spec in catalog.subjects: ...           # registration order: shared types first
"""

from pipeline.schema import catalog, loading
from pipeline.schema.catalog import *  # noqa: F403 (the package's names are its modules' names)
from pipeline.schema.loading import *  # noqa: F403 (the package's names are its modules' names)

__all__: list[str] = []
__all__ += catalog.__all__
__all__ += loading.__all__
