"""Reading a photo and the application: `reader` (find, crop, read), `model_files`, `lite` (TensorFlow Lite),
`annotation`, `cli` (the command line, `python -m helpers.app`), `server` + `page.html` and `browser` (the page
in Chromium).
"""
