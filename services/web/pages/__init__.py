"""Every page of the web app, one module per area; `PAGES` is what the app mounts."""

from services.web.pages import auth, home

PAGES = [auth.router, home.router]
