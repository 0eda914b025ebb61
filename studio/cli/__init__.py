"""The `studio` command: the app's actions for automation and tests (`studio --help`).

- `main`: the parser and the data, training and evaluation commands; `projects`: `studio project ...`.
- `studio model ...` lives with serving (`studio.serving.cli`).
"""
