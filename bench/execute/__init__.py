"""Running work in child processes, the client side: start a worker (the fork server in
`bench.engine.worker`, by module name), hand it jobs, judge how each child ended.

Every configuration runs in a process of its own — TensorFlow never returns memory inside a
process, and a crash or an out-of-memory kill takes the process with it — but the fixed costs
(Python start-up, importing TensorFlow, loading and decoding the data set) are paid once per
worker: the worker imports TensorFlow *without initialising its runtime* and forks a fresh child
per job, so every child starts from the same state.

Modules: `client` (the worker and its judge), `lifecycle` (signals, orphans), `oom`.
"""
