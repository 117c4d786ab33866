from heemang_common.migrations import run_env
from heemang_resources.db.models import Base
from heemang_resources.settings import Settings

run_env(Base.metadata, Settings().database_url)
