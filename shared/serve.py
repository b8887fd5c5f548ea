"""Entry point shared by every service: `python -m services.<name>` calls serve()."""

from __future__ import annotations

import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.lanes import Workload
from shared.settings import HearthSettings, get_settings

# A bulk process gives way: on a busy machine the OS runs the interactive processes first, so
# a batch takes the CPU a person's request leaves, not the other way round.
BULK_NICENESS = 10


def serve(create_app: Callable[[HearthSettings], FastAPI], service_name: str) -> None:
    settings = get_settings()
    if settings.service_name == "hearth":
        settings = settings.model_copy(update={"service_name": service_name})
    if settings.workload is Workload.BULK:
        os.nice(BULK_NICENESS)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        server_header=False,  # the web app's answers name no server software
        timeout_graceful_shutdown=10,
    )
