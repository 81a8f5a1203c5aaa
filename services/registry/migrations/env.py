from services.kernel.migrations_env import run
from services.registry.store import metadata

run(metadata)
