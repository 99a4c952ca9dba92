"""One reading of Lucene wildcard syntax: the parsers eqlc has for it agree with Lucene itself.

Elasticsearch pushes ``endsWith``/``stringContains(field, "literal")`` down as a wildcard query built
from the literal unescaped (see :mod:`eqlc.native_wildcard`), so ``*``, ``?`` and ``\\`` in the
literal are Lucene wildcard syntax. The targets read that syntax as ``ir.PatternPart`` runs
(:func:`eqlc.native_wildcard.lucene_wildcard_parts`); the matcher and its prefilter's needles read
it as ``*``-separated segments. The oracle both are held to is :func:`lucene_to_automaton`, a
transliteration of Lucene's own parser, ``WildcardQuery.toAutomaton``
(lucene/core/src/java/org/apache/lucene/search/WildcardQuery.java,
apache/lucene@03d5e4244b085e2f0590dada223d82ed86f35f31, read with the project's source search)::

    for (int i = 0; i < wildcardText.length(); ) {
      final int c = wildcardText.codePointAt(i);
      int length = Character.charCount(c);
      switch (c) {
        case WILDCARD_STRING: automata.add(Automata.makeAnyString()); break;   // '*'
        case WILDCARD_CHAR:   automata.add(Automata.makeAnyChar()); break;     // '?'
        case WILDCARD_ESCAPE:                                                  // '\\'
          // add the next codepoint instead, if it exists
          if (i + length < wildcardText.length()) {
            final int nextChar = wildcardText.codePointAt(i + length);
            length += Character.charCount(nextChar);
            automata.add(Automata.makeChar(nextChar));
            break;
          } // else fallthru, lenient parsing with a trailing \\
        default: automata.add(Automata.makeChar(c));
      }
      i += length;
    }

So: it walks *code points* (a Python ``str`` is a sequence of code points, so an astral character
is one step, as in Java's ``codePointAt``/``charCount``); ``\\`` takes the next code point literally,
whatever it is (``\\*``, ``\\?``, ``\\\\``, and ``\\a`` = ``a``: an escaped ordinary letter loses its
backslash); a trailing ``\\`` is a literal backslash; ``?`` is any one code point
(``makeAnyChar``), ``*`` any string (so ``**`` means ``*``).
"""

from __future__ import annotations

from typing import Union

from hypothesis import example, given, settings
from hypothesis import strategies as st

from eqlc import ir
from eqlc.matcher.codegen import native_string_segments
from eqlc.native_wildcard import lucene_wildcard_parts

# one automaton of the concatenation: a literal code point, or one of the two wildcards
Token = Union[str, ir.Wildcard]
S, Q = ir.Wildcard.STAR, ir.Wildcard.QUESTION


def lucene_to_automaton(text: str) -> list[Token]:
    """``WildcardQuery.toAutomaton`` step by step: the automata it concatenates, in order."""
    automata: list[Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        length = 1
        if c == "*":
            automata.append(S)
        elif c == "?":
            automata.append(Q)
        elif c == "\\" and i + length < len(text):
            automata.append(text[i + length])
            length += 1
        else:  # default, and the fall-through of a trailing backslash
            automata.append(c)
        i += length
    return automata


def merged(tokens: list[Token]) -> list[Token]:
    """The same language with consecutive ``*`` as one (``Operations.concatenate`` of two
    any-string automata accepts what one does)."""
    out: list[Token] = []
    for t in tokens:
        if not (t is S and out and out[-1] is S):
            out.append(t)
    return out


def tokens_of_parts(parts: tuple) -> list[Token]:
    out: list[Token] = []
    for p in parts:
        out.extend(p if isinstance(p, str) else [p])
    return out


def tokens_of_segments(segs: list) -> list[Token]:
    """The matcher's segments (a ``str``, or a list of characters with ``None`` for ``?``), with a
    ``*`` between two segments."""
    out: list[Token] = []
    for i, seg in enumerate(segs):
        if i:
            out.append(S)
        out.extend(Q if c is None else c for c in seg)
    return out


# Wildcard syntax with what is easy to get wrong: escapes of the three special characters, of an
# ordinary letter, of a non-ASCII and an astral code point, and a lone trailing backslash.
PIECES = st.sampled_from([
    "*", "?", "\\", "\\\\", "\\*", "\\?", "\\a", "\\é", "\\😀", "a", "B", "é", "😀", "-", " ", ".", "[", "]", "**",
])
WILDCARD_TEXT = st.one_of(
    st.lists(PIECES, max_size=10).map("".join),
    st.text(max_size=12),  # any code points, surrogates excluded as Python literals would
)

CASES = [  # what the source says, spelled out (query text -> automata)
    ("a\\", ["a", "\\"]),                   # trailing backslash: literal
    ("\\", ["\\"]),
    ("\\\\", ["\\"]),                       # an escaped backslash
    ("\\\\\\", ["\\", "\\"]),               # escaped backslash, then a trailing one
    ("\\*\\?", ["*", "?"]),                 # escaped wildcards are characters
    ("\\a", ["a"]),                         # an escaped ordinary letter is the letter
    ("\\😀?", ["😀", Q]),                   # the escape takes a whole (astral) code point
    ("**?*", [S, S, Q, S]),
    ("", []),
]


def test_the_oracle_reads_the_source_cases() -> None:
    for text, automata in CASES:
        assert lucene_to_automaton(text) == automata, text


@settings(max_examples=500, deadline=None)
@given(WILDCARD_TEXT)
@example("*a\\")
@example("\\")
@example("*masterUserPassword=**")
def test_lucene_wildcard_parts_read_what_lucene_reads(text: str) -> None:
    """The targets' parser: the same automata, consecutive ``*`` merged."""
    assert tokens_of_parts(lucene_wildcard_parts(text)) == merged(lucene_to_automaton(text))



@settings(max_examples=500, deadline=None)
@given(WILDCARD_TEXT, st.sampled_from(["endsWith", "stringContains"]))
@example("a\\", "endsWith")
@example("*", "stringContains")
@example("", "stringContains")
def test_the_matchers_segments_read_what_lucene_reads(literal: str, function: str) -> None:
    """The matcher's segments (the generated code and the prefilter's needles are built from them)
    come from the same parser: Elasticsearch's query text (``"*" + literal`` for endsWith, ``"*" +
    literal + "*"`` for stringContains) read as Lucene reads it, consecutive ``*`` merged.
    (Before this reading was shared, the matcher had its own parser, codegen.lucene_wildcard_segments;
    this test held it to the oracle too, unmerged, and it agreed.)"""
    query = "*" + literal + ("*" if function == "stringContains" else "")
    segs = native_string_segments(function, literal)
    assert tokens_of_segments(segs) == merged(lucene_to_automaton(query))
    assert all(isinstance(s, str) or None in s for s in segs)  # the str form whenever there is no "?"


@given(st.text(max_size=8))
def test_starts_with_is_a_prefix_query_of_the_text(literal: str) -> None:
    """startsWith is a prefix query: ``*``, ``?`` and ``\\`` in its literal are characters."""
    assert native_string_segments("startsWith", literal) == [literal, ""]
