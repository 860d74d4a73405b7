"""`observe`: what the server sees, sampled over one read-only connection.

observe.queries   the SQL (named constants) and statement text made safe to show
observe.limits    each group's closing limits, resolved as check resolves them (inspect.server)
observe.analysis  the window, sample by sample: groups, holders, forecasts, deaths (pure)
observe.sampler   the one session, the clock seam, the loop
observe.model     the report and its one JSON form
"""
