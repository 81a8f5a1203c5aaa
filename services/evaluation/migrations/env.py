from services.evaluation.store import metadata
from services.kernel.migrations_env import run

run(metadata)
