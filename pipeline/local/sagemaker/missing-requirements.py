"""Prints the lines of a requirements.txt whose distributions are not installed (one a line).

The local SageMaker runs it with the stage's Python before starting a stage natively, so a
missing package is named up front with the command that installs it.
"""

import importlib.metadata as metadata
import re
import sys

missing = []
with open(sys.argv[1]) as requirements:
    for raw in requirements:
        line = raw.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        name = re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0]
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(line)
print("\n".join(missing))
