"""Prints random "A B" pairs of Maven-like versions: numbers (some long, some all zeros),
known and unknown qualifiers, `.`/`-`/no separators, and pairs sharing a prefix."""
import random
import sys

random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
QUALIFIERS = ["alpha", "beta", "milestone", "rc", "cr", "snapshot", "ga", "final", "release",
              "sp", "a", "b", "m", "x", "foo", "SNAPSHOT", "RC", "Final", "M", "z", "c"]
NUMBERS = ["0", "0", "1", "2", "3", "10", "99", "00", "01", "0000000000", "12345678901",
           "1234567890123456789012"]


def token():
    roll = random.random()
    if roll < 0.45:
        return random.choice(NUMBERS)
    if roll < 0.8:
        return random.choice(QUALIFIERS)
    return random.choice(["_", "x1", "A", "-", "."])


def version():
    count = random.randint(1, 6)
    text = "".join(token() + (random.choice([".", ".", "-", "", "-", "."]) if i < count - 1 else "")
                   for i in range(count))
    if random.random() < 0.1:
        text += random.choice([".", "-"])
    if random.random() < 0.05:
        text = random.choice([".", "-"]) + text
    return text


pool = [version() for _ in range(3000)]
for _ in range(40000):
    a, b = random.choice(pool), random.choice(pool)
    if random.random() < 0.3:
        b = a + random.choice([".", ".0", "-0", "-1", ".1", "-a", "-sp", "-alpha1", "rc", "0", ""])
    print(a, b)
