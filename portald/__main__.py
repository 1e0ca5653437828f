"""``python -m portald`` is ``portald``."""
import sys

from .cli import main

sys.exit(main())
