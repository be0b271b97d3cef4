"""A fixed set of varied sentences for end-to-end embedding comparisons.

Hand-written topical groups (each with paraphrases, so nearest neighbours are
meaningful) plus sentences composed from a seeded grammar for breadth. The set
is deterministic: the same 240 sentences on every machine.
"""

import numpy as np

__all__ = ["sentences"]

_GROUPS = {
    "music": ["A man is playing a guitar on stage.", "Someone performs a song with an acoustic guitar.",
              "The orchestra rehearsed the symphony all afternoon.", "She practises the violin every morning.",
              "The band released a new album last week.", "A pianist gave a quiet recital in the old church."],
    "finance": ["The stock market fell sharply today.", "Share prices dropped steeply this afternoon.",
                "The central bank raised interest rates again.", "Inflation slowed for the third month in a row.",
                "Investors moved their savings into government bonds.", "The company reported record quarterly profits."],
    "weather": ["Heavy rain is expected over the weekend.", "Forecasters predict storms on Saturday and Sunday.",
                "The heatwave broke temperature records across the region.", "Snow closed the mountain pass overnight.",
                "A cold wind blew in from the north.", "It was sunny and mild for most of the day."],
    "cooking": ["Slice the onions thinly and fry them until golden.", "Cut the onion into thin rings and brown it in oil.",
                "Bake the bread for forty minutes at a high temperature.", "She made a spicy tomato soup for dinner.",
                "Whisk the eggs with sugar until the mixture is pale.", "The chef seasoned the fish with lemon and salt."],
    "sport": ["The home team won the match in extra time.", "The local side secured victory after overtime.",
              "She ran the marathon in under three hours.", "The goalkeeper saved a penalty in the final minute.",
              "Two cyclists crashed on the steep descent.", "The tennis final lasted nearly five hours."],
    "computing": ["The program crashed because of a null pointer.", "The software failed due to a missing reference check.",
                  "Compile the kernel with optimisation turned on.", "The database query took far too long to run.",
                  "A memory leak slowly exhausted the server.", "The new processor doubles the cache size."],
    "hardware": ["The memory controller fetches only the planes it needs.", "DRAM traffic shrinks when fewer bits are read.",
                 "The accelerator multiplies low-precision matrices quickly.", "Quantization reduces the size of model weights.",
                 "The FPGA design closes timing at one hundred megahertz.", "Each block of sixteen values shares one scale."],
    "animals": ["A cat is sleeping on the windowsill.", "The kitten dozes in the sunny window.",
                "A dog chased the ball across the park.", "Birds gathered on the wire before migrating.",
                "The horse galloped along the beach at dawn.", "A fox crept through the garden at night."],
    "travel": ["The train to the coast was delayed by an hour.", "Our railway journey to the seaside ran late.",
               "We booked a small hotel near the old harbour.", "The flight was cancelled because of fog.",
               "They hiked across the island in three days.", "The ferry crossing was rough but short."],
    "health": ["Regular exercise lowers the risk of heart disease.", "Physical activity helps protect the heart.",
               "The doctor prescribed antibiotics for the infection.", "He broke his wrist falling off a ladder.",
               "Drinking enough water matters in hot weather.", "The clinic offers vaccinations on weekdays."],
    "science": ["The telescope captured images of a distant galaxy.", "Astronomers photographed a far-away cluster of stars.",
                "Water boils at a lower temperature at high altitude.", "The experiment confirmed the theory's prediction.",
                "Plants convert sunlight into chemical energy.", "The fossil is roughly sixty million years old."],
    "everyday": ["I forgot my umbrella at the office.", "I left my umbrella at work.",
                 "Please close the door when you leave.", "The children are playing in the garden.",
                 "We need to buy milk and bread tomorrow.", "My phone battery died during the call."],
}

_SUBJECTS = ["The engineer", "A young student", "My neighbour", "The committee", "An old fisherman",
             "The new manager", "A curious child", "The research team", "Our teacher", "The pilot"]
_VERBS = ["repaired", "described", "painted", "ignored", "measured", "sold", "designed", "found",
          "photographed", "explained"]
_OBJECTS = ["a broken bicycle", "the ancient map", "a small wooden boat", "the quarterly budget",
            "a strange noise", "the mountain trail", "an unusual recipe", "the faulty circuit",
            "a forgotten letter", "the city skyline"]
_ENDINGS = ["yesterday.", "before lunch.", "with great care.", "in the rain.", "for the museum.",
            "without any help.", "late at night.", "to everyone's surprise.", "during the holiday.", "again."]


def sentences(n_composed: int = 168) -> list[str]:
    """The hand-written groups followed by ``n_composed`` seeded grammar sentences (240 in all)."""
    hand = [s for group in _GROUPS.values() for s in group]
    rng = np.random.default_rng(20241123)
    composed, seen = [], set()
    while len(composed) < n_composed:
        parts = (rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS), rng.choice(_ENDINGS))
        text = " ".join(parts)
        if text not in seen:
            seen.add(text)
            composed.append(text)
    return hand + composed
