"""How large a topology file and its values may be, so that checking any file is quick and small.

`btms check` and `btms run` read files an installer wrote, and also files that are broken or
hostile: a YAML alias bomb, nesting 100,000 levels deep, a number of 100,000 digits, a name of
10 MB. Each limit below refuses such a file with a `FILE:LINE: message` problem before the
work it would cause is done, in time and memory bounded by these numbers. Every limit is far
above what a real site needs: a fully equipped gateway (32 strings with every option, 32 UPSes,
4 IO modules with all 32 IOs assigned, every service set) is a file of about 20 KB holding
about 2,600 YAML values nested 6 levels deep (tests/topology/test_limits.py builds it).
docs/topology.md lists the limits for installers.
"""

from __future__ import annotations

from typing import Final

# The file is read whole; 1 MiB is 50 times the largest real topology, so comments have room.
MAX_FILE_BYTES: Final = 1024 * 1024

# Mappings and lists inside one another, the file itself being level 1. PyYAML composes
# nodes recursively, so a deep file would exhaust Python's stack; the topology needs 6.
MAX_NESTING_DEPTH: Final = 32

# YAML values (scalars, lists, mappings, keys) after aliases are expanded: an alias counts as
# every value of what it repeats. A "billion laughs" file of a few KB expands to millions of
# values and as many problems; it is refused while it is composed, before anything is built.
MAX_VALUES: Final = 20_000

# Ids appear in URLs, Modbus/SNMP descriptions and database rows (see ID_PATTERN).
MAX_ID_LENGTH: Final = 32
# Names shown to operators (gateway, UPS, string, the alarm of a digital input).
MAX_NAME_LENGTH: Final = 200
# Any other text: host names (at most 253 by DNS), ports, communities, passphrases, paths.
MAX_TEXT_LENGTH: Final = 1024

# Characters of a number as written (digits, sign, '.', exponent, '_' separators). Python
# refuses to convert or print integers of more than 4,300 digits, and no value of the
# topology needs more than a handful; longer numbers are refused before they are converted.
MAX_NUMBER_LENGTH: Final = 32

# How much of a wrong value or unknown key a message quotes, so that a message stays one line.
MAX_QUOTED_LENGTH: Final = 60
# PyYAML's own syntax messages quote parts of the file too (a tag handle, an anchor name).
MAX_YAML_MESSAGE_LENGTH: Final = 200

# Ids listed in a message such as "no bus has the id 'x' (buses: a, b, ...)".
MAX_LISTED_IDS: Final = 10

# Problems `btms check` and `btms run` print; the rest are counted ("... and N more problems").
# Fixing the first ones usually removes many of the others.
MAX_PROBLEMS_SHOWN: Final = 100
