"""Running work in child processes: one job type (a measured run or an equivalence analysis),
one fork server that children are forked from, one judge of how a child ended.

Every configuration runs in a process of its own — TensorFlow never returns memory inside a
process, and a crash or an out-of-memory kill takes the process with it — but the fixed costs
(Python start-up, importing TensorFlow, loading and decoding the data set) are paid once per
worker: the worker imports TensorFlow *without initialising its runtime* and forks a fresh child
per job, so every child starts from the same state.

Modules: `jobs` (what a job is and runs), `server` / `client` (the fork server and its judge),
`multiworker` (MultiWorkerMirroredStrategy workers), `lifecycle` (signals, orphans), `oom`.
"""
