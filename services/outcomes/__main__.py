import sys

from services.outcomes.app import create_app
from shared.serve import serve

if sys.argv[1:2] == ["rebuild"]:
    from services.outcomes.rebuild import main

    sys.exit(main(sys.argv[2:]))
if sys.argv[1:2] == ["import-history"]:
    from services.outcomes.import_history import main as import_main

    sys.exit(import_main(sys.argv[2:]))
serve(create_app, "outcomes")
