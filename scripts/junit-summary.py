#!/usr/bin/env python
"""Sum the JUnit XML files of one test run; fail when nothing ran or anything failed."""

import glob
import os
import sys
import xml.etree.ElementTree as ET


def main(directory):
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    files = sorted(glob.glob(os.path.join(directory, "*.xml")))
    for path in files:
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        counts = {k: sum(int(s.get(k, 0)) for s in suites) for k in totals}
        for k in totals:
            totals[k] += counts[k]
        ran = counts["tests"] - counts["skipped"]
        bad = counts["failures"] + counts["errors"]
        print(f"  {os.path.basename(path)}: {ran} ran, {bad} failed, {counts['skipped']} skipped")
    failed = totals["failures"] + totals["errors"]
    passed = totals["tests"] - failed - totals["skipped"]
    print(f"{passed} passed, {failed} failed, {totals['skipped']} skipped")
    if passed == 0:
        print("no test ran: that is a failure", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/test-results"))
