"""Three-way merge of rich texts paragraph by paragraph, and word-level differences for people.

A text is cut into its top-level blocks (paragraph, heading, list, quote, table). Two edits
made from the same base merge when they change different blocks; when they change the same
block (or both insert at the same place) nobody's words are chosen for them: it is a conflict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from html import escape

from app.richtext import html_to_text

# Block elements: at the top level each one is a paragraph of the merge.
_BLOCK_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "table", "div", "pre", "hr"}
)
_VOID_TAGS = frozenset({"br", "hr", "img", "wbr", "input", "meta", "link", "col", "area", "source"})
# A tag of the sanitiser's output: attributes are quoted, so ">" inside one does not end the tag.
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*(/?)>"
)


def split_blocks(html: str) -> list[str]:
    """The top-level blocks of an HTML fragment; joining them gives the fragment back exactly."""
    blocks: list[str] = []
    start = 0  # where the block being read began
    depth = 0  # open elements inside the current top-level block
    in_block = False  # the current chunk is a block element (else: a run of loose inline content)
    for match in _TAG.finditer(html):
        closing, name = match.group(1) == "/", match.group(2).lower()
        void = name in _VOID_TAGS or match.group(4) == "/"
        if depth == 0 and not closing and name in _BLOCK_TAGS:
            # A block starts at the top level: the loose content before it is a block of its own,
            # unless it is only whitespace, which stays with the previous block.
            loose = html[start : match.start()]
            if loose.strip():
                blocks.append(loose)
                start = match.start()
            elif blocks and start < match.start():
                blocks[-1] += loose
                start = match.start()
            in_block = True
        if closing:
            depth = max(depth - 1, 0)
            if depth == 0 and in_block:
                blocks.append(html[start : match.end()])
                start = match.end()
                in_block = False
        elif not void:
            depth += 1
        elif depth == 0 and in_block:
            # A void block element (<hr>) at the top level is a block by itself.
            blocks.append(html[start : match.end()])
            start = match.end()
            in_block = False
    rest = html[start:]
    if rest.strip() or not blocks:
        if rest:
            blocks.append(rest)
    else:
        blocks[-1] += rest
    return blocks


@dataclass(frozen=True)
class MergeResult:
    """The merged blocks, or None when the two edits touch the same block."""

    blocks: list[str] | None

    @property
    def conflict(self) -> bool:
        return self.blocks is None

    @property
    def text(self) -> str:
        """The merged text (only when there is no conflict)."""
        assert self.blocks is not None
        return "".join(self.blocks)


@dataclass(frozen=True)
class _Hunk:
    start: int  # base blocks [start, end) are replaced by `lines`
    end: int
    lines: tuple[str, ...]


def _hunks(base: Sequence[str], other: Sequence[str]) -> list[_Hunk]:
    matcher = SequenceMatcher(None, base, other, autojunk=False)
    return [
        _Hunk(i1, i2, tuple(other[j1:j2])) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    ]


def _clash(first: _Hunk, second: _Hunk) -> bool:
    if first == second:
        return False  # both made the very same change
    if first.start == first.end and second.start == second.end:
        return first.start == second.start  # two insertions at the same place: which order?
    if first.start == first.end:
        return second.start < first.start < second.end
    if second.start == second.end:
        return first.start < second.start < first.end
    return max(first.start, second.start) < min(first.end, second.end)


def merge_blocks(base: Sequence[str], mine: Sequence[str], theirs: Sequence[str]) -> MergeResult:
    """Three-way merge of block lists: both sides' changes when they touch different blocks."""
    if list(mine) == list(theirs) or list(theirs) == list(base):
        return MergeResult(list(mine))
    if list(mine) == list(base):
        return MergeResult(list(theirs))
    my_hunks, their_hunks = _hunks(base, mine), _hunks(base, theirs)
    if any(_clash(a, b) for a in my_hunks for b in their_hunks):
        return MergeResult(None)
    # Apply every distinct change in base order; an insertion goes before a change starting there.
    changes = sorted(set(my_hunks) | set(their_hunks), key=lambda h: (h.start, h.end != h.start, h.end))
    merged: list[str] = []
    position = 0
    for hunk in changes:
        merged.extend(base[position : hunk.start])
        merged.extend(hunk.lines)
        position = max(position, hunk.end)
    merged.extend(base[position:])
    return MergeResult(merged)


def merge_texts(base: str, mine: str, theirs: str) -> MergeResult:
    """Three-way merge of two HTML texts written from the same base, paragraph by paragraph."""
    return merge_blocks(split_blocks(base), split_blocks(mine), split_blocks(theirs))


# --- a draft for merging by hand -------------------------------------------------------------

# The marks around each clash of a merge draft. They are paragraphs of plain text, so they survive
# the sanitiser, the editor and a plain text area alike; a text still holding one is not saved.
CLASH_MARK = re.compile(r"⟦\s*(?:Conflit|Fin du conflit)\s+\d+[^⟧<]{0,200}⟧")


def _mark(text: str) -> str:
    return f"<p><strong>⟦ {escape(text)} ⟧</strong></p>"


@dataclass(frozen=True)
class MergeDraft:
    """Both sides' changes merged, and each block both changed given twice between marks."""

    text: str
    clashes: int


def _apply(base: Sequence[str], start: int, end: int, hunks: Sequence[_Hunk]) -> list[str]:
    """Base blocks [start, end) with one side's changes applied."""
    out: list[str] = []
    position = start
    for hunk in sorted(hunks, key=lambda h: (h.start, h.end)):
        out.extend(base[position : hunk.start])
        out.extend(hunk.lines)
        position = max(position, hunk.end)
    out.extend(base[position:end])
    return out


def merge_draft(base: str, mine: str, theirs: str) -> MergeDraft:
    """Where a merge by hand starts: the three-way merge, with the clashing blocks marked.

    Changes that touch different blocks are applied once, as an automatic merge would; where
    both sides changed the same blocks, the saved version and this writer's follow each other
    between marks (« ⟦ Conflit 1 : … ⟧ »), for the writer to keep what is right and drop the marks.
    """
    base_blocks, my_blocks, their_blocks = split_blocks(base), split_blocks(mine), split_blocks(theirs)
    plain = merge_blocks(base_blocks, my_blocks, their_blocks)
    if not plain.conflict:
        return MergeDraft(plain.text, 0)
    sides = {"mine": set(_hunks(base_blocks, my_blocks)), "theirs": set(_hunks(base_blocks, their_blocks))}
    same = sides["mine"] & sides["theirs"]  # the very same change on both sides is made once
    tagged = sorted(
        [(hunk, "both") for hunk in same]
        + [(hunk, side) for side, hunks in sides.items() for hunk in hunks - same],
        key=lambda item: (item[0].start, item[0].end != item[0].start, item[0].end),
    )
    # Hunks that clash, directly or through another, form one group; a group with both sides is a clash.
    groups: list[list[tuple[_Hunk, str]]] = []
    for hunk, side in tagged:
        if groups and any(other_side != side and _clash(hunk, other) for other, other_side in groups[-1]):
            groups[-1].append((hunk, side))
        else:
            groups.append([(hunk, side)])
    out: list[str] = []
    position = 0
    clashes = 0
    for group in groups:
        start = min(hunk.start for hunk, _side in group)
        end = max(hunk.end for hunk, _side in group)
        out.extend(base_blocks[position:start])
        if len(group) == 1:
            out.extend(group[0][0].lines)
        else:
            clashes += 1
            theirs_part = _apply(base_blocks, start, end, [h for h, s in group if s != "mine"])
            mine_part = _apply(base_blocks, start, end, [h for h, s in group if s != "theirs"])
            out.append(_mark(f"Conflit {clashes} : version enregistrée par les autres"))
            out.extend(theirs_part)
            out.append(_mark(f"Conflit {clashes} : votre version"))
            out.extend(mine_part)
            out.append(_mark(f"Fin du conflit {clashes}"))
        position = max(position, end)
    out.extend(base_blocks[position:])
    return MergeDraft("".join(out), clashes)


def clash_marks(html: str) -> int:
    """How many clash marks of a merge draft the text still holds."""
    return len(CLASH_MARK.findall(html))


# --- word-level differences, for the history's comparison ---------------------------------------

# A word keeps its accents, apostrophes and inner hyphens ("aujourd'hui", "peut-être", "l’État");
# punctuation marks and spaces are tokens of their own, so a changed comma shows as such.
_TOKEN = re.compile(r"\w+(?:['’\-]\w+)*|\s+|[^\w\s]", re.UNICODE)


def word_tokens(text: str) -> list[str]:
    """The words, spaces and punctuation marks of a plain text, in order; joined they give it back."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class DiffPiece:
    """A run of text that is kept, inserted or deleted."""

    kind: str  # "equal", "insert" or "delete"
    text: str


def word_diff(old_html: str, new_html: str) -> list[DiffPiece]:
    """The visible text's word-level differences from one HTML text to another."""
    old, new = word_tokens(html_to_text(old_html)), word_tokens(html_to_text(new_html))
    pieces: list[DiffPiece] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(DiffPiece("equal", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(DiffPiece("delete", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(DiffPiece("insert", "".join(new[j1:j2])))
    return pieces


def _marked(tag: str, said: str, text: str) -> str:
    # Underline and strike-through show the change; the hidden words say it to screen readers.
    hidden = '<span class="visually-hidden">'
    return f"<{tag}>{hidden}[{said} : </span>{text}{hidden}]</span></{tag}>"


def diff_html(pieces: Sequence[DiffPiece]) -> str:
    """The differences as escaped HTML, with <ins> and <del> around what changed (and said aloud)."""
    out = []
    for piece in pieces:
        text = escape(piece.text)
        if piece.kind == "insert":
            out.append(_marked("ins", "ajout", text))
        elif piece.kind == "delete":
            out.append(_marked("del", "suppression", text))
        else:
            out.append(text)
    return "".join(out)
