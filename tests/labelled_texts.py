"""Labelled example sentences for training concept models: two topics, plus more of each
for a second version and held-out sentences to predict."""

from __future__ import annotations

SPORTS = [
    "The striker scored a goal in the final minute.",
    "The tennis match went to five sets.",
    "He ran the marathon in under three hours.",
    "The team won the championship game.",
    "She swam fifty laps in the pool.",
    "The pitcher threw a perfect game.",
]
COOKING = [
    "Simmer the sauce for twenty minutes.",
    "Chop the onions and fry them in butter.",
    "Bake the bread at two hundred degrees.",
    "Whisk the eggs with sugar until fluffy.",
    "Season the soup with salt and pepper.",
    "Roast the vegetables with olive oil.",
]
MORE_SPORTS = ["The cyclist won the mountain stage.", "The boxer knocked out his rival."]
MORE_COOKING = ["Knead the dough and let it rise.", "Grill the fish with lemon and herbs."]
HELD_OUT = ["The goalkeeper saved a penalty kick.", "Stir the risotto until it is creamy."]
