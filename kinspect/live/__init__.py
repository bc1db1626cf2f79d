"""`--watch` and the live ui: the state kept up to date event by event, and the watcher feeding it.

`state` is pure (objects, indexes, chains rebuilt per event); `watcher` runs one WATCH per kind
over `wire` into a bounded queue.
"""
