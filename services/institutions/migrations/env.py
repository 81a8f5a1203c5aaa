from services.institutions.store import metadata
from services.kernel.migrations_env import run

run(metadata)
