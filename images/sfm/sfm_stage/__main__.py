import sys

from .pipeline import main

sys.exit(main(sys.argv[1:]))
