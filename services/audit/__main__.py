import sys

from services.audit.app import create_app
from shared.serve import serve

if sys.argv[1:2] == ["verify"]:
    from services.audit.cli import main

    sys.exit(main(sys.argv[2:]))
serve(create_app, "audit")
