"""Each pool stack's own keys and defaults, mapped to the stack-neutral PoolPolicy the judge reads.

One module per stack; each holds its library's defaults in one table, with the version they come from.
"""
