from heemang_common.migrations import run_env
from heemang_intake.db.models import Base
from heemang_intake.settings import Settings

run_env(Base.metadata, Settings().database_url)
