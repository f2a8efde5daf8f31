#!/usr/bin/env python3
"""Writes dtc-db/codes.csv from a code -> J2012 title map (JSON) plus the hand-checked additions
below. Run once when the title list changes; the committed codes.csv is what gets reviewed.

Usage: normalise_titles.py titles.json > dtc-db/codes.csv

Later, hand-checked families (issue 3: B0 restraints, U3, hybrid P0A/P0B, P2BA7) were merged
into codes.csv with merge_codes.py; their provenance is in dtc-db/README.md, not here.
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

def qualify_codes(codes, suffix):
    for code in codes.split():
        SUFFIX[code] = suffix


# More families whose published titles lost the bank/sensor; same reasoning as above.
B1, B2 = "(Bank 1)", "(Bank 2)"
qualify_codes("P0008 P0075 P0076 P0077 P0078 P0079 P0080 P0365 P0366 P0367 P0368 P0369", B1)
qualify_codes("P0009 P0081 P0082 P0083 P0084 P0085 P0086 P0390 P0391 P0392 P0393 P0394", B2)
qualify_codes("P0340 P0341 P0342 P0343 P0344", "(Bank 1 or Single Sensor)")
qualify_codes("P0345 P0346 P0347 P0348 P0349", B2)
qualify_codes("P0325 P0326 P0327 P0328 P0329", "(Bank 1 or Single Sensor)")
qualify_codes("P0330 P0331 P0332 P0333 P0334", B2)
qualify_codes("P0491 P0638 P0660 P0661 P0662 P2000 P2002 P2004 P2006 P2008 P2009 P2010", B1)
qualify_codes("P0492 P0639 P0663 P0664 P0665 P2001 P2003 P2005 P2007 P2011 P2012 P2013", B2)
qualify_codes("P2014 P2015 P2016 P2017 P2018 P2088 P2089 P2090 P2091 P2096 P2097", B1)
qualify_codes("P2019 P2020 P2021 P2022 P2023 P2092 P2093 P2094 P2095 P2098 P2099", B2)
qualify_codes("P2177 P2178 P2187 P2188 P2191 P2192 P2423 P2428", B1)
qualify_codes("P2179 P2180 P2189 P2190 P2193 P2194 P2424 P2429", B2)
qualify_codes("P2200 P2201 P2202 P2203 P2204 P2205 P2206 P2207 P2208 P2209 P2210 P2211 P2212", B1)
qualify_codes("P2213 P2214 P2215 P2216 P2217 P2218 P2219 P2220 P2221 P2222 P2223 P2224 P2225", B2)
qualify_codes("P2430 P2431 P2432 P2433 P2434 P2440 P2441 P2444 P2445", B1)
qualify_codes("P2435 P2436 P2437 P2438 P2439 P2442 P2443 P2446 P2447", B2)
qualify_codes("P2645 P2646 P2647 P2648 P2649 P2650 P2651 P2652 P2653 P2654", B1)
qualify_codes("P2655 P2656 P2657 P2658 P2659 P2660 P2661 P2662 P2663 P2664", B2)
qualify_codes("P0544 P0545 P0546 P2080 P2081 P2195 P2196 P2231 P2237 P2238 P2239", B1S1)
qualify_codes("P2243 P2244 P2245 P2246 P2251 P2252 P2253 P2297 P2414 P2626 P2627 P2628", B1S1)
qualify_codes("P0547 P0548 P0549 P2082 P2083 P2197 P2198 P2234 P2240 P2241 P2242", B2S1)
qualify_codes("P2247 P2248 P2249 P2250 P2254 P2255 P2256 P2298 P2415 P2629 P2630 P2631", B2S1)
qualify_codes("P2031 P2032 P2033 P2084 P2085 P2270 P2271 P2232", B1S2)
qualify_codes("P2034 P2035 P2036 P2086 P2087 P2272 P2273 P2235", B2S2)
qualify_codes("P2274 P2275 P2233", B1S3)
qualify_codes("P2276 P2277 P2236", B2S3)
qualify_codes("P2A00", B1S1)
qualify_codes("P2A01", B1S2)
qualify_codes("P2A02", B1S3)
qualify_codes("P2A03", B2S1)
qualify_codes("P2A04", B2S2)
qualify_codes("P2A05", B2S3)
qualify_codes("P2047 P2048 P2049", "(Bank 1 Unit 1)")
qualify_codes("P2050 P2051 P2052", "(Bank 2 Unit 1)")
qualify_codes("P2053 P2054 P2055", "(Bank 1 Unit 2)")
qualify_codes("P2056 P2057 P2058", "(Bank 2 Unit 2)")


def bus_wire(code, title):
    """U0001-U0072 come in blocks of nine per bus; J2012 names which wire (+ or -) is open,
    low or high, which the published list dropped."""
    # Numbered as decimal in the standard (U0009 is followed by U0010 in the same series).
    if code[0] != "U" or not code[1:].isdigit() or not 1 <= int(code[1:]) <= 72:
        return title
    offset = (int(code[1:]) - 1) % 9
    wire = "(+)" if offset in (2, 3, 4) else "(-)" if offset in (5, 6, 7) else None
    m = re.match(r"^(.*) \((Open|Low|High)\)$", title)
    if wire and m:
        return f"{m.group(1)} {wire} {m.group(2)}"
    return title


# Chassis, body and hybrid generic codes checked against several independent published lists.
ADDED = {
    "P0A0A": "High Voltage System Interlock Circuit",
    "P0A80": "Replace Hybrid Battery Pack",
    "P0AA6": "Hybrid Battery Voltage System Isolation Fault",
    "P0AA7": "Hybrid Battery Voltage Isolation Sensor Circuit",
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
    title = re.sub(r"/ (Open|Performance)\b", r"/\1", title)
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
        title = bus_wire(code, title)
        if code in SUFFIX and "Bank" not in title:
            title = f"{title} {SUFFIX[code]}"
        if "," in title or '"' in title:
            title = '"' + title.replace('"', '""') + '"'
        print(f"{code},{title}")


main()
