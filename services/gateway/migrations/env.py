import heemang_gateway.webhooks.models  # noqa: F401  (registers the webhook tables on Base)
from heemang_common.migrations import run_env
from heemang_gateway.db.models import Base
from heemang_gateway.settings import Settings

run_env(Base.metadata, Settings().database_url)
