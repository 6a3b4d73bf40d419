"""Models and their training: `models` (the readers), `localization` and `detection` (Step 4's finders),
`detection_data`, `metrics`, `training` (train or load, cached) and `comparison` (paired comparisons).
"""
