"""How the app is served in production (`make run`); the concurrency test and bench/load.sh use it too.

`make run` passes `--workers $(WORKERS) --threads $(THREADS)`; the values below are for a bare
`gunicorn --config gunicorn.conf.py app:app`.
"""
import gc
import os
import shutil
import subprocess
import tempfile
import time

# Threaded workers: a request that waits (an export's child process, a database lock, a slow client)
# holds one thread, not the whole worker, and a kept-alive connection costs no worker either.
# (scouting.web.gunicorn_worker.Worker is gunicorn's gthread worker that answers a request line too long for gunicorn
# with the app's own 414 page: see limit_request_line below.)
worker_class = "scouting.web.gunicorn_worker.Worker"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))

# gunicorn itself believes X-Forwarded-Proto / X-Forwarded-Ssl from 127.0.0.1 by default (https:// links, Secure
# cookies, HSTS for any local client that sends them).  Forwarded headers count only when SCOUTING_PROXY_FIX says
# a proxy stands in front, and then only from the proxy's address (FORWARDED_ALLOW_IPS, default this machine).
_PROXIES = int(os.environ.get("SCOUTING_PROXY_FIX") or 0)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1") if _PROXIES > 0 else ""

_redis = {}


def on_starting(server):
    """Rate limits that hold for the whole site with several workers.  Counts in each worker's memory would let a
    client through WORKERS times: unless a storage is configured, a private redis-server (on a unix socket, no
    disk) is started beside gunicorn when it is installed; without one each worker allows its share of each limit."""
    storage = os.environ.get("SCOUTING_RATELIMIT_STORAGE_URI") or "memory://"
    if server.cfg.workers <= 1 or not storage.startswith("memory://"):
        return
    binary = shutil.which("redis-server")
    if binary is None:
        os.environ["SCOUTING_RATELIMIT_WORKERS"] = str(server.cfg.workers)
        server.log.warning("redis-server is not installed: each of the %s workers allows 1/%s of each rate limit "
                           "(apt-get install redis-server shares the counts instead)", server.cfg.workers,
                           server.cfg.workers)
        return
    folder = tempfile.mkdtemp(prefix="scout-ratelimit-")  # mode 700: only this user reaches the socket
    socket_path = os.path.join(folder, "redis.sock")
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", socket_path, "--unixsocketperm", "700",  # noqa: S603  (fixed arguments)
                             "--save", "", "--appendonly", "no", "--dir", folder],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _redis.update(proc=proc, folder=folder)
    for _ in range(100):  # a start-up wait of at most 10 s
        if os.path.exists(socket_path) or proc.poll() is not None:
            break
        time.sleep(0.1)
    if not os.path.exists(socket_path):
        on_exit(server)
        raise RuntimeError(f"redis-server for the rate limits did not start (exit code {proc.poll()})")
    os.environ["SCOUTING_RATELIMIT_STORAGE_URI"] = f"redis+unix://{socket_path}"
    server.log.info("rate-limit counts shared by the workers in redis-server %s at %s", proc.pid, socket_path)


def on_exit(server):
    proc = _redis.pop("proc", None)
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    folder = _redis.pop("folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def post_fork(server, worker):
    # One pooled database connection per thread, so a thread never waits for one and PostgreSQL sees at most
    # workers x (threads + overflow) connections from us.  Runs before the worker loads the app; an
    # explicit SCOUTING_DB_POOL_SIZE wins.
    os.environ.setdefault("SCOUTING_DB_POOL_SIZE", str(server.cfg.threads))

def post_worker_init(worker):
    # The loaded app's objects (modules, SQLAlchemy's mappers and compiled-statement caches, ...) live as long as
    # the worker: frozen, the collector's passes stop walking them (a full pass walked ~176,000 objects, ~0.1 s of
    # CPU; a search page allocates thousands of objects, so passes come often: see bench/analysis.md).
    gc.freeze()


# The default access log line plus how long the request took, to find slow ones.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

# Request lines up to 8190 bytes (gunicorn's largest; its default is 4094): the app's own limit on a URL,
# scouting.web.MAX_URL_LENGTH, is just below it, so a URL that is too long gets the app's page in the reader's
# language.  A drawn area of the API's 500 corners (area=polyline:...) fits with room to spare.  A longer line is
# refused by gunicorn before the app sees it; the worker above answers it with the app's 414 page all the same.
# Not 0 (no limit): gunicorn's Python parser would then hold, and re-copy on every read, a line of any length, up to
# WORKERS x THREADS of them at once; with the limit, memory per request stays bounded and the worker drops the rest.
limit_request_line = 8190
