"""Generate ``src/clarion/catalog/data/general_concepts.json`` from WordNet 3.0, once.

The 1000 ImageNet classes are WordNet 3.0 noun synsets. Each broader concept below is a
WordNet synset; its leaves are the ImageNet classes among its hyponyms (following hypernym
and instance-hypernym links up from every class), written as positions in the classifier's
1000 outputs (whose synset ids are listed under ``classes``). A concept's value, the sum of
its leaves' probabilities, is then the probability of the broader class.

The vocabulary is curated: only concepts a person would name, under plain names, never the
abstract top levels ("entity", "whole", "artifact"); links of a chain nobody says
("carnivore", "feline", "canine") are left out, so that a photo's top answers are the names
a person would give (a tabby: "animal", "mammal", "domestic animal", "cat", "tabby cat").
``EXTRA_LEAVES`` adds the few classes that everyday language puts under a concept although
WordNet files them elsewhere (to most people a locomotive is part of a train).

Serving never needs WordNet: this script reads Debian's ``wordnet-base`` (``apt-get install
wordnet-base``) and writes a small JSON file that is committed. Run it from the repository
root with the ImageNet class files installed (``clarion models pull``):

    python scripts/make_general_concepts.py [/usr/share/wordnet]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from clarion.catalog.imagenet import imagenet_concepts

TARGET = Path(__file__).resolve().parents[1] / "src/clarion/catalog/data/general_concepts.json"

#: synset id -> plain name, broadest first within each group.
VOCABULARY: dict[str, str] = {
    # animals
    "n00015388": "animal",
    "n01861778": "mammal",
    "n01503061": "bird",
    "n01661091": "reptile",
    "n01627424": "amphibian",
    "n02512053": "fish",
    "n01905661": "invertebrate",
    "n02159955": "insect",
    "n01769347": "arachnid",
    "n01772222": "spider",
    "n01974773": "crustacean",
    "n01976957": "crab",
    "n01940736": "mollusk",
    "n02316707": "echinoderm",
    "n01317541": "domestic animal",
    "n02084071": "dog",
    "n02087122": "hunting dog",
    "n02103406": "working dog",
    "n02092468": "terrier",
    "n02087551": "hound",
    "n02098550": "gun dog",
    "n02104523": "sheepdog",
    "n02085374": "toy dog",
    "n02101108": "spaniel",
    "n02099029": "retriever",
    "n02113335": "poodle",
    "n02111626": "spitz",
    "n02114100": "wolf",
    "n02118333": "fox",
    "n02121808": "cat",
    "n02127808": "big cat",
    "n02131653": "bear",
    "n02469914": "primate",
    "n02484322": "monkey",
    "n02470325": "ape",
    "n02370806": "hoofed mammal",
    "n02395003": "swine",
    "n02419796": "antelope",
    "n02329401": "rodent",
    "n02324045": "rabbit",
    "n02062017": "aquatic mammal",
    "n01874434": "marsupial",
    "n02164464": "beetle",
    "n02274259": "butterfly",
    "n01726692": "snake",
    "n01674464": "lizard",
    "n01662784": "turtle",
    "n01639765": "frog",
    "n01629276": "salamander",
    "n01482330": "shark",
    "n01844917": "water bird",
    "n01845132": "waterfowl",
    "n01604330": "bird of prey",
    "n01816887": "parrot",
    "n01529672": "finch",
    "n02008041": "heron",
    "n02000954": "wading bird",
    "n02022684": "shorebird",
    # plants and food
    "n00017222": "plant",
    "n11669921": "flower",
    "n12992868": "fungus",
    "n07555863": "food",
    "n07705931": "fruit",
    "n07707451": "vegetable",
    "n07557434": "dish",
    "n07609840": "dessert",
    "n07679356": "bread",
    "n07622061": "baked goods",
    "n07810907": "condiment",
    "n07881800": "drink",
    "n07884567": "alcoholic drink",
    # vehicles and transport
    "n03100490": "transportation",
    "n04524313": "vehicle",
    "n03791235": "motor vehicle",
    "n02958343": "car",
    "n04490091": "truck",
    "n02924116": "bus",
    "n04520170": "van",
    "n04468005": "train",
    "n04019101": "public transport",
    "n03764276": "military vehicle",
    "n02970849": "cart",
    "n02686568": "aircraft",
    "n04530566": "watercraft",
    "n02858304": "boat",
    "n04194289": "ship",
    "n04128837": "sailing ship",
    # things people use
    "n03094503": "container",
    "n02876657": "bottle",
    "n02883344": "box",
    "n02773037": "bag",
    "n03990474": "pot",
    "n03051540": "clothing",
    "n03419014": "garment",
    "n03057021": "coat",
    "n03380867": "footwear",
    "n04199027": "shoe",
    "n03502509": "headwear",
    "n03497657": "hat",
    "n02954340": "cap",
    "n03815615": "necktie",
    "n04371563": "swimsuit",
    "n02739668": "armor",
    "n03309808": "fabric",
    "n03405725": "furniture",
    "n04161981": "seat",
    "n03001627": "chair",
    "n03800933": "musical instrument",
    "n04338517": "stringed instrument",
    "n04586932": "wind instrument",
    "n02891788": "brass instrument",
    "n04598582": "woodwind",
    "n03915437": "percussion instrument",
    "n03614532": "keyboard instrument",
    "n03278248": "electronics",
    "n03082979": "computer",
    "n04401088": "telephone",
    "n03528263": "home appliance",
    "n03620052": "kitchen appliance",
    "n03699975": "machine",
    "n04451818": "tool",
    "n03489162": "hand tool",
    "n03101986": "cookware",
    "n03621049": "kitchen utensil",
    "n04381994": "tableware",
    "n03133538": "dishware",
    "n04565375": "weapon",
    "n03467984": "gun",
    "n04285146": "sports equipment",
    "n02778669": "ball",
    "n04437953": "timepiece",
    "n03046257": "clock",
    "n03733925": "measuring instrument",
    "n03852280": "optical instrument",
    "n03636248": "lamp",
    "n04608567": "writing implement",
    "n03906997": "pen",
    "n03323703": "fastener",
    "n04447443": "toiletry",
    # places and structures
    "n04341686": "structure",
    "n02913152": "building",
    "n03259505": "dwelling",
    "n03953416": "place of worship",
    "n04202417": "shop",
    "n02898711": "bridge",
    "n03327234": "fence",
    "n02796623": "barrier",
    "n03743902": "monument",
    "n09287968": "landform",
    # people
    "n00007846": "person",
}

#: ImageNet classes everyday language files under a concept that WordNet puts elsewhere.
EXTRA_LEAVES: dict[str, tuple[str, ...]] = {
    # train: steam locomotive, electric locomotive, passenger car, freight car, streetcar
    "n04468005": ("n04310018", "n03272562", "n03895866", "n03393912", "n04335435"),
}


def read_hypernyms(wordnet: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each noun synset's hypernyms (and instance hypernyms), and its first lemma."""
    hypernyms: dict[str, list[str]] = defaultdict(list)
    lemmas: dict[str, str] = {}
    with (wordnet / "data.noun").open(encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):  # the license header
                continue
            fields = line.partition(" | ")[0].split()
            synset = "n" + fields[0]
            words = int(fields[3], 16)
            lemmas[synset] = fields[4].replace("_", " ")
            at = 4 + 2 * words
            for k in range(int(fields[at])):
                symbol, offset = fields[at + 1 + 4 * k], fields[at + 2 + 4 * k]
                if symbol in ("@", "@i"):
                    hypernyms[synset].append("n" + offset)
    return hypernyms, lemmas


def ancestors(synset: str, hypernyms: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    stack = [synset]
    while stack:
        for parent in hypernyms.get(stack.pop(), ()):
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found


def build(wordnet: Path) -> dict[str, object]:
    hypernyms, lemmas = read_hypernyms(wordnet)
    leaves = [c.id for c in imagenet_concepts()]
    leaf_names = {c.name for c in imagenet_concepts()}
    under: dict[str, set[str]] = defaultdict(set)
    for leaf in leaves:
        if leaf not in lemmas:
            raise SystemExit(f"ImageNet class {leaf} is not a WordNet 3.0 noun synset")
        for parent in ancestors(leaf, hypernyms):
            under[parent].add(leaf)
    for concept, extra in EXTRA_LEAVES.items():
        under[concept].update(extra)
        for parent in ancestors(concept, hypernyms):
            under[parent].update(extra)
    order = {leaf: i for i, leaf in enumerate(leaves)}
    concepts = []
    for synset, name in VOCABULARY.items():
        members = sorted(under[synset], key=order.__getitem__)
        if len(members) < 2:
            raise SystemExit(f"{synset} ({name}) covers {len(members)} ImageNet classes")
        if name in leaf_names:
            raise SystemExit(f"{synset}: the name {name!r} is already an ImageNet class's")
        if any(leaf in VOCABULARY for leaf in members) or synset in order:
            raise SystemExit(f"{synset} ({name}) is itself an ImageNet class")
        indices = [order[leaf] for leaf in members]
        concepts.append({"id": synset, "name": name, "wordnet": lemmas[synset], "leaves": indices})
    if len({c["name"] for c in concepts}) != len(concepts):
        raise SystemExit("two general concepts share a name")
    return {
        "source": "WordNet 3.0 (Princeton University); see licenses/WordNet-3.0.LICENSE",
        "generator": "scripts/make_general_concepts.py",
        "classes": leaves,
        "concepts": concepts,
    }


def dump(table: dict[str, object]) -> str:
    """JSON with one class list line and one line per concept, for readable diffs."""
    lines = ["{"]
    for key in ("source", "generator", "classes"):
        lines.append(f" {json.dumps(key)}: {json.dumps(table[key])},")
    concepts: list[object] = table["concepts"]  # type: ignore[assignment]
    lines.append(' "concepts": [')
    lines.append(",\n".join(f"  {json.dumps(c)}" for c in concepts))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    wordnet = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet")
    table = build(wordnet)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    assert json.loads(dump(table)) == table
    TARGET.write_text(dump(table), encoding="utf-8")
    print(f"wrote {len(table['concepts'])} general concepts to {TARGET}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
