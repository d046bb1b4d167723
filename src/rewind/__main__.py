# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m rewind``: the same as the ``rewind`` command."""

import sys

from rewind.cli import main

sys.exit(main())
