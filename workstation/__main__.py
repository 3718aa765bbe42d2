import sys

from workstation.frozen import run_module_if_asked

if not run_module_if_asked(sys.argv):
    from workstation.cli import main

    raise SystemExit(main())
