"""Settings for the test suite: test mode, database from DATABASE_URL (SQLite file by default)."""

import os

os.environ["MINZHENG_MODE"] = "test"

from config.settings import *  # noqa: F403
