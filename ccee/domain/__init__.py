"""CCEE's business vocabulary, in one place: entities and event codes (`events`), metadata
names and their types (`metadata`), and the contract lifecycle (`lifecycle`).

The simulator's generator, the pipelines and the reports all read these definitions, so the
three agree on what a contract's state is and what counts as an anomaly.
"""
