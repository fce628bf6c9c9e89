"""Broader concepts above the 1000 ImageNet classes ("cat", "animal", "vehicle").

The table ships in ``data/general_concepts.json``, generated once from WordNet 3.0 by
``scripts/make_general_concepts.py`` (serving needs no WordNet). Each entry is a curated
WordNet synset with a plain name and its leaves: the positions of the ImageNet classes
below it. The image runner answers each one with the sum of its leaves' probabilities.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from clarion.catalog.builtin import WeightsMissing
from clarion.catalog.imagenet import imagenet_concepts
from clarion.domain.values import Concept

TABLE_PATH = Path(__file__).with_name("data") / "general_concepts.json"


@cache
def general_concepts() -> tuple[Concept, ...]:
    """The broader concepts, in the order the runner appends their values."""
    table = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    if table["classes"] != [c.id for c in imagenet_concepts()]:
        raise WeightsMissing(
            f"{TABLE_PATH} was made for other ImageNet classes than the installed ones"
        )
    return tuple(Concept(id=c["id"], name=c["name"]) for c in table["concepts"])


def recognition_concepts() -> tuple[Concept, ...]:
    """Every concept of ``general-image-recognition``: the 1000 classes, then the broader."""
    concepts = imagenet_concepts() + general_concepts()
    if len({c.name for c in concepts}) != len(concepts):
        raise WeightsMissing(f"{TABLE_PATH} repeats a concept name")
    return concepts
