"""Scheduled work: the one leading `clock` process runs it, or (with `jobs.queue` set) enqueues it for
`bot.py worker` processes (jobs/queue.py); never one scheduler per web worker."""
