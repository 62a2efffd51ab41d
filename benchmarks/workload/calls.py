"""A call-heavy workload: recursion, small functions and tight loops.

Used by ``benchmarks/runtime_overhead.py`` to measure what instrumentation costs at
run time. It mixes what typical Python code does a lot of: tokenising text, a
recursive-descent parser and evaluator with small helper methods, recursive tree
building and walking, records serialised recursively, numeric helpers called in
loops, and counting loops. Every function is small; the benchmark prints the cost
per instrumented call so the figures carry over to code with heavier functions.
"""

import math


# -- a tiny expression language -------------------------------------------------------
def tokenize(text):
    tokens = []
    number = ""
    for char in text:
        if char.isdigit():
            number += char
            continue
        if number:
            tokens.append(int(number))
            number = ""
        if char in "+-*/()":
            tokens.append(char)
    if number:
        tokens.append(int(number))
    return tokens


class Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.position = 0

    def peek(self):
        if self.position < len(self.tokens):
            return self.tokens[self.position]
        return None

    def take(self):
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self):
        node = self.term()
        while self.peek() in ("+", "-"):
            operator = self.take()
            node = (operator, node, self.term())
        return node

    def term(self):
        node = self.factor()
        while self.peek() in ("*", "/"):
            operator = self.take()
            node = (operator, node, self.factor())
        return node

    def factor(self):
        token = self.take()
        if token == "(":
            node = self.expression()
            self.take()
            return node
        return token


def evaluate(node):
    if isinstance(node, int):
        return node
    operator, left, right = node
    a = evaluate(left)
    b = evaluate(right)
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    return a // b if b else 0


def calculator(expressions):
    results = []
    for text in expressions:
        tree = Parser(tokenize(text)).expression()
        results.append(evaluate(tree))
    return results


# -- recursion over trees ------------------------------------------------------------
def build_tree(depth, width, label="root"):
    node = {"label": label, "value": len(label) * depth}
    if depth:
        node["children"] = [
            build_tree(depth - 1, width, f"{label}.{index}") for index in range(width)
        ]
    return node


def tree_sum(node):
    total = node["value"]
    for child in node.get("children", ()):
        total += tree_sum(child)
    return total


def tree_depth(node):
    children = node.get("children")
    if not children:
        return 1
    return 1 + max(tree_depth(child) for child in children)


def to_json(value):
    if isinstance(value, dict):
        items = [f'"{key}": {to_json(item)}' for key, item in sorted(value.items())]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_json(item) for item in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return str(value)


# -- small numeric helpers -----------------------------------------------------------
def dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def norm(a):
    return math.sqrt(dot(a, a))


def scale(a, factor):
    return (a[0] * factor, a[1] * factor, a[2] * factor)


def normalize(a):
    length = norm(a)
    return scale(a, 1 / length) if length else a


def centroid(points):
    sx = sy = sz = 0.0
    for x, y, z in points:
        sx += x
        sy += y
        sz += z
    n = len(points)
    return (sx / n, sy / n, sz / n)


# -- text and counting loops ---------------------------------------------------------
def slugify(title):
    words = []
    for word in title.lower().split():
        cleaned = "".join(char for char in word if char.isalnum())
        if cleaned:
            words.append(cleaned)
    return "-".join(words)


def word_counts(text):
    counts = {}
    for word in text.lower().split():
        word = word.strip(".,!?")
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts


def primes_below(limit):
    sieve = [True] * limit
    sieve[0] = sieve[1] = False
    for number in range(2, int(limit**0.5) + 1):
        if sieve[number]:
            for multiple in range(number * number, limit, number):
                sieve[multiple] = False
    return [n for n, is_prime in enumerate(sieve) if is_prime]


def main():
    expressions = ["(1+2)*3-4/(5+6)", "12*(3+4)*(5-6)+78", "((1+2)*(3+4))/(5+6)"] * 200
    checks = sum(calculator(expressions))
    tree = build_tree(5, 4)
    checks += tree_sum(tree) + tree_depth(tree) + len(to_json(tree))
    points = [(i * 0.5, i * 0.25, 1.0 + i) for i in range(3000)]
    checks += sum(norm(normalize(p)) for p in points)
    checks += sum(centroid(points))
    titles = [f"Release {n}: The Quick Brown Fox, Jumps Over the Lazy Dog!" for n in range(300)]
    checks += sum(len(slugify(title)) for title in titles)
    text = "The quick brown fox jumps over the lazy dog. The dog sleeps! " * 800
    checks += len(word_counts(text))
    checks += len(primes_below(50000))
    return checks
