"""Writes pypi-random.txt: random PEP 440 spellings and legacy strings, compared by
packaging (PEP 440) with packaging-legacy's fallback, as osv.dev does.
Needs: pip install packaging packaging-legacy. Usage: python3 pypi.py OUT_DIR"""
import os
import random
import sys

from packaging_legacy.version import parse

random.seed(11)
PRE = ["a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "A", "RC", "Alpha"]
POST = ["post", "rev", "r", "POST"]
SEPARATORS = ["", ".", "-", "_"]


def number():
    return str(random.choice([0, 0, 1, 2, 5, 10, "00", "01", 12345678901234567890123]))


def standard():
    text = random.choice(["", "", "v", "V"])
    if random.random() < 0.15:
        text += number() + "!"
    text += ".".join(number() for _ in range(random.randint(1, 4)))
    if random.random() < 0.4:
        text += random.choice(SEPARATORS) + random.choice(PRE) + random.choice(SEPARATORS)
        text += random.choice(["", number()])
    if random.random() < 0.3:
        if random.random() < 0.3:
            text += "-" + number()
        else:
            text += random.choice(SEPARATORS) + random.choice(POST) + random.choice(SEPARATORS)
            text += random.choice(["", number()])
    if random.random() < 0.3:
        text += random.choice(SEPARATORS) + random.choice(["dev", "DEV"])
        text += random.choice(SEPARATORS) + random.choice(["", number()])
    if random.random() < 0.2:
        text += "+" + random.choice(SEPARATORS[1:]).join(
            random.choice(["a", "ubuntu", "1", "01", "B2", "x"]) for _ in range(random.randint(1, 3)))
    return text


def legacy():
    alphabet = "0123456789abcdefxyz.-_+!rcpredvtlfinaAB"
    return "".join(random.choice(alphabet) for _ in range(random.randint(1, 9)))


pool = [standard() if random.random() < 0.75 else legacy() for _ in range(3000)]
lines = []
for _ in range(40000):
    a, b = random.choice(pool), random.choice(pool)
    if random.random() < 0.3:
        b = a + random.choice([".0", "0", ".post1", "-1", "a1", ".dev0", "+x", "-foo", "rc", ".1"])
    if a.startswith(("#", "//")) or b.startswith(("#", "//")):
        continue
    va, vb = parse(a), parse(b)
    lines.append(f"{a} {'<' if va < vb else '=' if va == vb else '>'} {b}")
with open(os.path.join(sys.argv[1], "pypi-random.txt"), "w") as out:
    out.write("\n".join(lines) + "\n")
