"""``python -m assets_orch`` is the ``assets`` command."""

from .cli import main

main()
