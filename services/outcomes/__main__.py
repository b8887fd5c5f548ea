import sys

from services.outcomes.app import create_app
from shared.serve import serve

if sys.argv[1:2] == ["rebuild"]:
    from services.outcomes.rebuild import main

    sys.exit(main(sys.argv[2:]))
serve(create_app, "outcomes")
