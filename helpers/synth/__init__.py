"""Made data: `sequences` (Step 1's MNIST numbers) and the stand-in for SVHN, `street_numbers`, drawn by
`street_drawing` with `fonts` and SVHN's `framing`.
"""
