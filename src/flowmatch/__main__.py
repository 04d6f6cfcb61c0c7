import sys

from flowmatch.cli import main

sys.exit(main())
