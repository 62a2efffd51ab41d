"""Hunks of a change apply in any subset: all of them give the new text, none the old."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codemodkit.output.hunks import rebuild, revert, split_hunks

_line = st.sampled_from(["a\n", "b\n", "c\n", "  d\n", "\n", "e\r\n", "f"])
_text = st.lists(_line, max_size=12).map("".join)


@given(_text, _text, st.data())
def test_any_subset_of_hunks_applies(old: str, new: str, data: st.DataObject) -> None:
    hunks = split_hunks(old, new)
    indexes = range(len(hunks))
    assert rebuild(old, hunks, indexes) == new
    assert rebuild(old, hunks, ()) == old
    accepted = data.draw(st.sets(st.sampled_from(indexes)) if hunks else st.just(set()))
    rejected = set(indexes) - accepted
    # Built up from the old text or taken back from the new one: the same file.
    assert rebuild(old, hunks, accepted) == revert(new, hunks, rejected)


def test_insertions_are_separate_hunks() -> None:
    old = "def f():\n    pass\n\n\ndef g():\n    pass\n"
    new = "import x\ndef f():\n    x.f()\n    pass\n\n\ndef g():\n    x.g()\n    pass\n"
    hunks = split_hunks(old, new)
    assert [h.new_lines for h in hunks] == [("import x\n",), ("    x.f()\n",), ("    x.g()\n",)]
    assert (
        rebuild(old, hunks, [0, 2])
        == "import x\ndef f():\n    pass\n\n\ndef g():\n    x.g()\n    pass\n"
    )
