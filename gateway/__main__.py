"""`python -m gateway`: the HTTP gateway."""

import uvicorn

from gateway.app import create_app
from services.kernel.config import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
