"""Active experiments against a real server through a real engine, each bounded by a timeout.

`runner.run_probe(inputs, options)` measures the path (connect, round trip, load), reproduces every
registered failure scenario (`scenarios.SCENARIOS`) with the app's current settings and with the
recommended ones, and optionally measures the path's idle timeout (`discover`). The stacks build their real
pools through `pools` and `sqlalchemy_engine`, which import nothing above them; this package's own import
runs nothing, so importing one of its modules never pulls in the rest.
"""
