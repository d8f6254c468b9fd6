"""The driver: everything around the graph (pipeline/graph.py) that runs once per `winnow run`, in the
process that starts it (or, for a job no process waits for, in its last step):

- run.py       checks the inputs, output folder and config, picks and starts the runner, runs the graph
- finalize.py  after the last sink: manifest, data card, atomic swap of OUT.winnow-tmp into OUT
- manifest.py  assembles the typed manifest (schemas/manifest.py) from the sinks' small files
- funnel.py    documents left after each stage (printed, and drawn on the card)
- gate.py      the bias gate
"""
