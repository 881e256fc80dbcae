"""The analysis drivers, run as scripts: ``python analysis/<driver>.py``.

They import their shared helpers as the top-level module ``_common`` (the
script's directory is on ``sys.path``). For ``python -m analysis.<driver>``
this package puts that directory on the path too, so both forms work.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
