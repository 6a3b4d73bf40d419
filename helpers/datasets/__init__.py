"""The data the steps read: `mnist`, `svhn` and `digitstruct` (+ `_hdf5`, format 1), `crops` (number
tables and Goodfellow et al.'s crops), `real_photos` (the real-photo yardstick) and `new_images` (Step 3's folder).
"""
