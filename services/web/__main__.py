from services.web.app import create_app
from services.web.settings import WebSettings
from shared.serve import serve


def _create(_: object) -> object:
    settings = WebSettings(service_name="web")
    return create_app(settings)


serve(_create, "web")  # type: ignore[arg-type]
