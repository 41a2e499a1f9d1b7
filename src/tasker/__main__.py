"""``python -m tasker``: the same command line as the ``tasker`` script."""
from .cli import main

if __name__ == "__main__":
    main()
