"""The run and its conventions, imported by every other layer: `config` (every budget and setting),
`paths`, `labels` (a number as length + digits), `boxes` (one box convention) and `images` (any photo as RGB).
"""
