"""resource-batch: Infobip Resources API requests from spreadsheets, results in a sheet.

From Python, `validate`, `run` and `status` take a sheet (a path or a DataFrame) and
return the results sheet's rows as a DataFrame (see `batch.library`).

The modules `batch.run` and `batch.status` share these names: they are loaded first,
so that the package's attributes are the functions; reach the modules with
`from batch.run import ...`.
"""

import logging

from batch import run as _run_module  # noqa: F401  (loaded first: see above)
from batch import status as _status_module  # noqa: F401
from batch.library import run, status, validate

__all__ = ["run", "status", "validate"]

# A library logs, the application says where to: without this, Python prints warnings
# to stderr (a notebook's cell output) itself. The CLI configures logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())
