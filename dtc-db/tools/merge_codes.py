#!/usr/bin/env python3
"""Merges hand-checked `CODE|Title` lines (one per line, `#` comments) into dtc-db/codes.csv.

Why a script: codes.csv must stay sorted in the loader's order (P, C, B, U, then by the 16-bit
number, so P0A0F sorts between P0A0A and P0A10) and each code may appear once. Sorting by hand
gets hex-suffixed codes wrong, so this does it and refuses to silently change a title that is
already there (a changed title needs its own reviewed commit).

Usage: merge_codes.py dtc-db/codes.csv additions.txt [more.txt ...]   (rewrites codes.csv)
"""
import csv
import io
import re
import sys

CODE = re.compile(r"^[PCBU][0-3][0-9A-F]{3}$")


def key(code):
    return ("PCBU".index(code[0]), int(code[1:], 16))


def read_codes(path):
    rows = {}
    with open(path, newline="") as f:
        for line in f:
            if line.startswith("#"):
                # Rewriting the file would drop it; keep comments out of codes.csv instead.
                sys.exit(f"{path}: has comment lines, which this rewrite would lose")
            if line.startswith("code,") or not line.strip():
                continue
            code, title = next(csv.reader([line]))
            rows[code] = title
    return rows


def read_additions(path):
    for n, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        code, title = (part.strip() for part in line.split("|", 1))
        if not CODE.match(code) or not title or title != " ".join(title.split()):
            sys.exit(f"{path}:{n}: bad line {line!r}")
        yield code, title


def main():
    target, sources = sys.argv[1], sys.argv[2:]
    rows = read_codes(target)
    for source in sources:
        for code, title in read_additions(source):
            if code in rows and rows[code] != title:
                sys.exit(f"{code}: already '{rows[code]}', not overwriting with '{title}'")
            rows[code] = title
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write("code,description\n")
    for code in sorted(rows, key=key):
        writer.writerow([code, rows[code]])
    open(target, "w").write(out.getvalue())


main()
