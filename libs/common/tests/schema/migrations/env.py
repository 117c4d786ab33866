from sqlalchemy import MetaData

from heemang_common.migrations import run_env

# Hand-written migrations only: the models live in libs/common/tests/conftest.py.
run_env(MetaData(), "sqlite+aiosqlite:///var/common-tests.db")
