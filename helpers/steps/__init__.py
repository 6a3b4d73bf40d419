"""One module per report step that trains: `step1`, `step2`, `step4`, each taking the run configuration;
`export` writes the released models' TFLite files and model card; `train_svhn` scales Step 2 up to the full SVHN.
"""
