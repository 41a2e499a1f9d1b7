"""Every limit and default on what Tasker accepts, defined once.

The core checks (``checks.py``), the stores, the HTTP API and its OpenAPI
document all read these names; none keeps a copy of its own.
"""
from __future__ import annotations

# Names: task types, queues, unique keys, series names.
MAX_NAME_LENGTH = 255

# JSON values: payloads, meta, results and progress reports.
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 100                      # lists and objects nested in one value

# Per-task options and their defaults.
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS = 10_000
DEFAULT_TIMEOUT = 300.0
MAX_TIMEOUT = 10 * 365 * 86400.0          # ten years
DEFAULT_QUEUE = "default"
DEFAULT_PRIORITY = 0
PRIORITY_RANGE = (-(2**31), 2**31 - 1)    # PostgreSQL's integer
MAX_DEPENDENCIES = 10_000

# Times. Both stores and Python's datetime hold the years 1 to 9999; delays and
# ages stay far inside that, so now + delay can always be stored and read back.
EARLIEST_EPOCH = -62135596800.0           # 0001-01-01T00:00:00Z
LATEST_EPOCH = 253402300799.0             # 9999-12-31T23:59:59Z
MAX_DELAY = 100 * 365 * 86400.0           # a century: delay, retry_delay, older_than, snoozes

# Flow control (concurrency_limit=, rate_limit=, configure_queue): a rate is "N/s", "N/m" or "N/h".
MAX_CONCURRENCY_LIMIT = 1_000_000
MAX_RATE_COUNT = 1_000_000
RATE_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}
ON_CONFLICT = ("keep", "replace")          # create(unique_key=..., on_conflict=...)
# How often a worker rereads the stored limits. A stale copy never lets a limit be broken
# (the claim reads the stored limits itself); it only delays a newly limited type's tasks.
FLOW_LIMITS_REFRESH = 1.0

# Recurring series.
MAX_CATCH_UP = 10_000

# Credentials of the web dashboard, its API and the cron endpoints.
MIN_SECRET_LENGTH = 8
MAX_FAILED_LOGINS = 30                    # per client address...
FAILED_LOGIN_WINDOW = 60.0                # ...per this many seconds, then 429 until the window passes

# Reading.
MAX_LIST_LIMIT = 100_000                  # app.list(limit=...)
MAX_PAGE_SIZE = 1000                      # one HTTP response (GET /api/tasks?limit=...)
MAX_LISTED_VALUE_BYTES = 8 * 1024         # a payload, result, meta or progress in a listing; more is left out
MAX_SHOWN_VALUE_CHARS = 64 * 1024         # the same on a dashboard page (the JSON API has the whole value)
MAX_SELECTED_IDS = 10_000                 # ids given to one count or bulk action (app.bulk(ids=...))
BULK_BATCH = 500                          # tasks one statement of a bulk action picks and changes
ERROR_SCAN = 10_000                       # tasks with an error one dashboard or API page of an error search reads
MAX_COUNTED = 100_000                     # a count shown on a page stops there ("100,000 or more")
MAX_BULK_PER_REQUEST = 10_000             # tasks one bulk action from the dashboard or API changes (repeat for more)
MAX_BATCH_SIZE = 100_000                  # app.process_queue(batch_size=...)
MAX_CRON_BATCH = 1000                     # one /api/tasks/cron call
ACTIVITY_KEPT_DAYS = 7                    # PostgreSQL keeps per-minute finish counts (app.activity) this long

# Deleting: cleanup removes finished tasks this many per statement, so no statement
# holds locks (or SQLite's one write lock) over the whole history at once.
CLEANUP_BATCH = 5000
# Retention (handler option retention=): workers delete a type's old finished tasks one batch
# at a time, pausing between batches while behind, checking again this often once caught up.
RETENTION_BATCH = 1000
RETENTION_PAUSE = 0.2
RETENTION_INTERVAL = 60.0
