"""The privacy report every sync run makes of what it wrote: counts taken while copying,
measures read from the destination afterwards, and the job's policy that turns findings into
failures. Never a row value: counts, ratios and column names only."""
