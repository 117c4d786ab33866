from heemang_casework.db.models import Base
from heemang_casework.settings import Settings
from heemang_common.migrations import run_env

run_env(Base.metadata, Settings().database_url)
