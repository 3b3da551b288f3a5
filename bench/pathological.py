"""Bodies that make Markdown and HTML parsers slow, for bench/run.sh.

    python3 bench/pathological.py DIR SIZE...

writes DIR/<kind>-<size>.json, a `POST /posts` request body (`title`,
`body`) for each kind and size, and prints one line per file: kind, size
asked, bytes of Markdown, file. The kinds are CommonMark's pathological
cases (cmark's test/pathological_tests.py), scaled to the size, then tables
and HTML that outgrow it or nest deep, and plain prose to compare with: those
of tests/api/publishing/rendering.rs, and the heaviest table the bounds of
src/domain/post/cost.rs let through. A body whose JSON escapes would take it
over a post's 256 KiB request is made smaller until it fits.
"""

import json
import os
import sys

REQUEST_LIMIT = 256 * 1024


def fill(unit, size):
    return unit * (size // len(unit))


def around(open_, middle, close, size):
    times = (size - len(middle)) // (len(open_) + len(close))
    return open_ * times + middle + close * times


def lines(size, line):
    text, i = [], 0
    length = 0
    while True:
        nxt = line(i)
        if length + len(nxt) > size:
            return "".join(text)
        text.append(nxt)
        length += len(nxt)
        i += 1


def references(size):
    definitions = lines(size // 2, lambda i: "[%d]: u\n" % (i + 1))
    return definitions + fill("[0] ", size - len(definitions))


def reopened(size):
    opened = "".join("<b id=%d>" % i for i in range(200))
    return "<p>" + opened + fill("</p><p>x", size - len(opened) - 3)


def short_rows(columns, rows):
    """Tables of `columns` columns whose rows write one cell of them."""
    table = "|a" * columns + "|\n" + "|-" * columns + "|\n" + "a\n" * rows + "\n"
    return lambda size: fill(table, size)


KINDS = [
    ("plain prose", lambda n: fill("A paragraph of prose, with *emphasis* and a [link](https://example.com).\n\n", n)),
    ("nested strong emphasis", lambda n: around("*a **a ", "b", " a** a*", n)),
    ("emphasis closers without openers", lambda n: fill("a_ ", n)),
    ("emphasis openers without closers", lambda n: fill("_a ", n)),
    ("link closers without openers", lambda n: fill("a]", n)),
    ("link openers without closers", lambda n: fill("[a", n)),
    ("mismatched openers and closers", lambda n: fill("*a_ ", n)),
    ("openers and closers, a multiple of 3", lambda n: "a**b" + fill("c* ", n - 4)),
    ("link openers and emphasis closers", lambda n: fill("[ a_", n)),
    ("the pattern [ (]( repeated", lambda n: fill("[ (](", n)),
    ("the pattern ![[]() repeated", lambda n: fill("![[]()", n)),
    ("nested brackets", lambda n: around("[", "a", "]", n)),
    ("nested block quotes", lambda n: fill("> ", n - 1) + "a"),
    ("deeply nested lists", lambda n: lines(n, lambda i: "  " * i + "* a\n")),
    ("backticks", lambda n: lines(n, lambda i: "e" + "`" * (i + 1))),
    ("unclosed links <", lambda n: fill("[a](<b", n)),
    ("unclosed links", lambda n: fill("[a](b", n)),
    ("unclosed comments", lambda n: "</" + fill("<!--", n - 2)),
    ("table rows that are one cell", lambda n: fill("aaa\rbbb\n-\x0b\n", n)),
    ("many references", references),
    ("short table rows under a wide header", short_rows(300, 800)),
    # The heaviest the bounds let through: 2 elements and 19 bytes of HTML
    # per byte of Markdown.
    ("short table rows under a 3-column header", short_rows(3, 2000)),
    ("nested HTML", lambda n: fill("<div>", n)),
    ("nested HTML lists", lambda n: fill("<ul><li>", n)),
    ("formatting tags left open and reopened", reopened),
]


def request(kind, make, size):
    """The JSON request for `kind` at `size` bytes, or less if it must."""
    while True:
        body = make(size)
        text = json.dumps({"title": kind, "body": body})
        if len(text.encode()) <= REQUEST_LIMIT - 1024:
            return body, text
        size = size * 9 // 10


def main():
    out, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
    os.makedirs(out, exist_ok=True)
    for number, (kind, make) in enumerate(KINDS):
        for size in sizes:
            body, text = request(kind, make, size)
            path = os.path.join(out, "%02d-%d.json" % (number, size))
            with open(path, "w") as f:
                f.write(text)
            print("%s\t%d\t%d\t%s" % (kind, size, len(body.encode()), path))


if __name__ == "__main__":
    main()
