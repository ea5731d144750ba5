"""`python -m tools.rehearsal_provider [engine flags] ENGINE_ADDRESS`: serve as the engine expects."""

import sys

from tools.rehearsal_provider.server import main

if __name__ == "__main__":
    sys.exit(main())
