"""From a job and a schema to the plan a run follows: the rules a job must keep, load order,
subsets, synthesized tables, saved transformers, drift since the job was saved."""
