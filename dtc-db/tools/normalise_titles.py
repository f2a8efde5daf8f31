#!/usr/bin/env python3
"""Writes dtc-db/codes.csv from a code -> J2012 title map (JSON) plus the hand-checked additions
below. Run once when the title list changes; the committed codes.csv is what gets reviewed.

Usage: normalise_titles.py titles.json > dtc-db/codes.csv
"""
import json
import re
import sys

# Families where the published list drops the bank/sensor qualifier that J2012 carries in
# the title; without it an owner cannot tell which part is meant.
B1S1, B1S2, B1S3 = "(Bank 1 Sensor 1)", "(Bank 1 Sensor 2)", "(Bank 1 Sensor 3)"
B2S1, B2S2, B2S3 = "(Bank 2 Sensor 1)", "(Bank 2 Sensor 2)", "(Bank 2 Sensor 3)"
SUFFIX = {}


def qualify(first, last, suffix):
    for n in range(first, last + 1):
        SUFFIX[f"P{n:04d}"] = suffix


qualify(10, 15, "(Bank 1)")
qualify(16, 16, "(Bank 1 Sensor A)")
qualify(17, 17, "(Bank 1 Sensor B)")
qualify(18, 18, "(Bank 2 Sensor A)")
qualify(19, 19, "(Bank 2 Sensor B)")
qualify(20, 25, "(Bank 2)")
qualify(26, 27, "(Bank 1)")
qualify(28, 29, "(Bank 2)")
qualify(30, 32, B1S1)
qualify(36, 38, B1S2)
qualify(42, 44, B1S3)
qualify(50, 52, B2S1)
qualify(53, 53, B1S1)
qualify(54, 54, B1S2)
qualify(55, 55, B1S3)
qualify(56, 58, B2S2)
qualify(59, 59, B2S1)
qualify(60, 60, B2S2)
qualify(61, 61, B2S3)
qualify(62, 64, B2S3)
qualify(130, 135, B1S1)
qualify(136, 141, B1S2)
qualify(142, 147, B1S3)
qualify(150, 155, B2S1)
qualify(156, 161, B2S2)
qualify(162, 167, B2S3)
qualify(170, 172, "(Bank 1)")
qualify(173, 175, "(Bank 2)")
qualify(420, 429, "(Bank 1)")
qualify(430, 439, "(Bank 2)")
qualify(3400, 3400, "(Bank 1)")
qualify(3497, 3497, "(Bank 2)")

# Chassis and body generic codes checked against several independent published lists.
ADDED = {
    "B0001": "Driver Frontal Stage 1 Deployment Control",
    "B0002": "Driver Frontal Stage 2 Deployment Control",
    "B0003": "Driver Frontal Stage 3 Deployment Control",
    "C0035": "Left Front Wheel Speed Sensor Circuit",
    "C0040": "Right Front Wheel Speed Sensor Circuit",
    "C0045": "Left Rear Wheel Speed Sensor Circuit",
    "C0050": "Right Rear Wheel Speed Sensor Circuit",
}

GENERIC = re.compile(r"^(P0|P2|P3[4-9A-F]|C0|B0|U0|U3)[0-9A-F]{3}$|^P3[4-9][0-9A-F]{2}$")


def clean(title):
    title = title.replace("OBDResponse", "Response").replace("lntake", "Intake")
    title = re.sub(r"\s+/", "/", title)
    title = re.sub(r"\s+", " ", title).strip()
    return title


def main():
    titles = json.load(open(sys.argv[1]))
    titles.update(ADDED)
    print("code,description")
    for code in sorted(titles, key=lambda c: ("PCBU".index(c[0]), int(c[1:], 16))):
        title = clean(titles[code])
        if "reserved" in title.lower() or not GENERIC.match(code):
            continue
        if code in SUFFIX and "Bank" not in title:
            title = f"{title} {SUFFIX[code]}"
        if "," in title or '"' in title:
            title = '"' + title.replace('"', '""') + '"'
        print(f"{code},{title}")


main()
