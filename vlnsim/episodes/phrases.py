"""Sentence templates and synonym sets of the template speaker.

Placeholders: ``{lm}`` an object phrase ("the blue sofa"), ``{room}`` a room name,
``{dir}`` left/right, ``{n}``/``{unit}`` a distance. Every ``{lm}`` phrase is produced
by ``object_name`` as ``the [<colour> ]<category>``, which is what checks parse.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

TURN = ["turn {dir}", "make a {dir} turn", "take a {dir}", "turn to your {dir}", "go {dir}", "hang a {dir}"]
TURN_SLIGHT = ["turn slightly {dir}", "bear {dir}", "veer {dir}", "make a slight {dir}"]
TURN_AROUND = ["turn around", "turn all the way around", "turn back the way you came", "do a u-turn"]
ENTER_ROOM = ["enter the {room}", "walk into the {room}", "go into the {room}", "head into the {room}",
              "continue into the {room}", "step into the {room}"]
EXIT_ROOM = ["exit the {room}", "leave the {room}", "walk out of the {room}", "go out of the {room}"]
MOVE_PAST = ["walk past {lm}", "go past {lm}", "continue past {lm}", "walk straight past {lm}",
             "pass {lm}", "keep walking past {lm}", "move forward past {lm}"]
MOVE_TOWARDS = ["walk towards {lm}", "head towards {lm}", "go straight towards {lm}", "walk up to {lm}",
                "approach {lm}"]
MOVE_PLAIN = ["walk forward about {n} {unit}", "go straight for {n} {unit}", "continue straight ahead about {n} {unit}",
              "walk ahead roughly {n} {unit}", "keep going forward for {n} {unit}"]
STOP_AT = ["stop next to {lm}", "stop by {lm}", "wait next to {lm}", "stop near {lm}", "stop in front of {lm}",
           "your goal is next to {lm}", "stop once you reach {lm}", "wait by {lm}"]
STOP_IN_ROOM = ["stop in the middle of the {room}", "stop inside the {room}", "wait in the {room}",
                "stop once you are in the {room}", "stop when you get into the {room}"]
THEN = ["then", "and then", "after that,", "next,", "now"]

ALL_TEMPLATES = (TURN, TURN_SLIGHT, TURN_AROUND, ENTER_ROOM, EXIT_ROOM, MOVE_PAST, MOVE_TOWARDS, MOVE_PLAIN,
                 STOP_AT, STOP_IN_ROOM)

# big, distinctive furniture makes the best landmarks (R2R annotators name beds and sofas, not mugs)
LARGE_CATEGORIES = frozenset({"bed", "sofa", "armchair", "table", "desk", "wardrobe", "bookshelf", "tv stand",
                              "refrigerator", "stove", "kitchen counter", "bathtub", "shower", "piano", "fireplace",
                              "dining table", "round table", "dresser", "washing machine", "clothes dryer", "cabinet",
                              "shelving unit", "toilet", "sink", "bench", "couch", "fridge"})


def choice(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def room_name(room_type: str) -> str:
    """Display name of a room type ("living_room" -> "living room")."""
    return room_type.replace("_", " ").strip() or "room"


def category_name(category: str) -> str:
    return category.replace("_", " ").strip()


def object_name(obj) -> str:
    """``the [colour ]category`` phrase of a ``SceneObject``."""
    color = (obj.color or "").replace("_", " ").strip()
    return f"the {color} {category_name(obj.category)}" if color else f"the {category_name(obj.category)}"


def join_clauses(clauses: List[str], rng: np.random.Generator) -> str:
    """Group clauses into sentences of one or two, joined with varied connectives."""
    sentences: List[str] = []
    i = 0
    while i < len(clauses):
        take_two = i + 1 < len(clauses) and rng.random() < 0.6
        if take_two:
            conn = choice(rng, [" and ", ", then ", " and then ", ", and "])
            s = clauses[i] + conn + clauses[i + 1]
            i += 2
        else:
            s = clauses[i]
            if sentences and rng.random() < 0.4:
                s = choice(rng, THEN) + " " + s
            i += 1
        sentences.append(s[0].upper() + s[1:] + ".")
    return " ".join(sentences)
