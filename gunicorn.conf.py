"""How the app is served in production (`make run`); the concurrency test and bench/load.sh use it too.

`make run` passes `--workers $(WORKERS) --threads $(THREADS)`; the values below are for a bare
`gunicorn --config gunicorn.conf.py app:app`.
"""
import os

# Threaded workers: a request that waits (an export's child process, a database lock, a slow client)
# holds one thread, not the whole worker, and a kept-alive connection costs no worker either.
worker_class = "gthread"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))


def post_fork(server, worker):
    # One pooled database connection per thread, so a thread never waits for one and PostgreSQL sees at most
    # workers x (threads + overflow) connections from us.  Runs before the worker loads the app; an
    # explicit SCOUTING_DB_POOL_SIZE wins.
    os.environ.setdefault("SCOUTING_DB_POOL_SIZE", str(server.cfg.threads))

# The default access log line plus how long the request took, to find slow ones.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
