from services.agreements.app import create_app
from shared.serve import serve

serve(create_app, "agreements")
