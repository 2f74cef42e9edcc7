#!/usr/bin/env python3
"""Writes a rules file equivalent to the input with its topology services and drop rules in
reverse order (the reload test swaps it in: the engine must keep its state and decide exactly
as before).  reorder_rules.py IN OUT"""
import sys


def reverse_block(text, header, item, more):
    """Reverses the items (a line starting with `item`, then lines starting with `more`) that
    directly follow `header`."""
    start = text.index(header) + len(header)
    groups, end = [], start
    for line in text[start:].split("\n"):
        if groups and line.startswith(more):
            groups[-1].append(line)
        elif line.startswith(item) and line[len(item)] != " ":
            groups.append([line])
        else:
            break
        end += len(line) + 1
    flat = "".join("\n".join(g) + "\n" for g in reversed(groups))
    return text[:start] + flat + text[end:]


text = open(sys.argv[1]).read()
text = reverse_block(text, "  services:\n", "    ", "      ")
text = reverse_block(text, "drop:\n", "  - ", "    ")
open(sys.argv[2], "w").write("# reordered by tests/kafka/reorder_rules.py\n" + text)
