from heemang_common.migrations import run_env
from heemang_hotline.db.models import Base
from heemang_hotline.settings import Settings

run_env(Base.metadata, Settings().database_url)
