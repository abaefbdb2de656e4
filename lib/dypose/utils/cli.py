"""What every command-line tool shares: turning user errors into one clear line."""

import logging
import os
import sys
from typing import Callable

logger = logging.getLogger("dypose.tools")

# Set DYPOSE_DEBUG=1 to see the full traceback of an error reported in one line.
DEBUG_ENV = "DYPOSE_DEBUG"


def run_tool(main: Callable[[], int]) -> int:
    """Runs a tool's `main()` and returns its exit status.

    DyPose reports bad input (configs, annotation and image files, checkpoints, results
    files) as ValueError subclasses whose message names the file, the field and the fix,
    and the operating system reports unusable paths as OSError. A tool prints those as
    one logged line (also written to the run's log file when one is open) and exits 2,
    instead of a traceback; DYPOSE_DEBUG=1 re-raises them.
    """
    try:
        return main()
    except (ValueError, OSError) as err:
        if os.environ.get(DEBUG_ENV):
            raise
        logger.error("%s: %s (set %s=1 for the traceback)", type(err).__name__, err, DEBUG_ENV)
        return 2


def exit_with(main: Callable[[], int]) -> None:
    """`sys.exit(run_tool(main))`: the last line of every tool."""
    sys.exit(run_tool(main))
