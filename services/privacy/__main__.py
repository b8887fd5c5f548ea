from services.privacy.app import create_app
from shared.serve import serve

serve(create_app, "privacy")
