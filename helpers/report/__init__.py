"""The report's figures and words: `plotting`, `results` (metrics.json and the README's table), `wording`,
`model_card` and `peers` (the readers a user would try instead).
"""
