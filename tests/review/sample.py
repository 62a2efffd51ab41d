"""A small Python module the review tests instrument: two functions with a variable
or a loop, one with neither."""

APP = """\
import os


def add(a, b):
    total = a + b
    return total


def scale(items, factor):
    out = []
    for item in items:
        out.append(item * factor)
    return out


def greet(name):
    return "hello " + name
"""
